//! Hostile inputs: files built to cost memory or time, or to hang a reader. Each must
//! give a clear error naming the file, quickly and with bounded memory: gzip bombs,
//! absurd IDX headers, FIFOs in place of data files, images of huge dimensions in small
//! files, oversized mirror files. Also the valid inputs beside them (multi-member gzip).

mod common;

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tchlab::data::*;

fn err<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

/// The header of an IDX file of `u8` data with `dims`.
fn idx_header(magic: u8, dims: &[u32]) -> Vec<u8> {
    let mut raw = vec![0, 0, 8, magic];
    for d in dims {
        raw.extend_from_slice(&d.to_be_bytes());
    }
    raw
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Raw deflate data for `data`: byte-aligned, non-final blocks (a sync flush) that refer
/// to nothing before their start, so that copies of it can follow one another.
fn deflate_segment(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.flush().unwrap();
    e.get_ref().clone()
}

/// The final, empty deflate block.
fn deflate_end() -> Vec<u8> {
    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast()).finish().unwrap()
}

/// A one-member gzip file holding `head` then `zeros` zero bytes (a multiple of 1 MiB):
/// one 1 MiB segment of zeros is compressed once and repeated, and the CRC is combined,
/// so that gigabytes of content cost a few milliseconds and a few megabytes.
fn gzip_zeros_after(head: &[u8], zeros: u64) -> Vec<u8> {
    const SEGMENT: usize = 1 << 20;
    assert_eq!(zeros % SEGMENT as u64, 0);
    let block = vec![0u8; SEGMENT];
    let zero_segment = deflate_segment(&block);
    let mut zero_crc = flate2::Crc::new();
    zero_crc.update(&block);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate_segment(head));
    let mut crc = flate2::Crc::new();
    crc.update(head);
    for _ in 0..zeros / SEGMENT as u64 {
        out.extend_from_slice(&zero_segment);
        crc.combine(&zero_crc);
    }
    out.extend(deflate_end());
    out.extend(crc.sum().to_le_bytes());
    out.extend(((head.len() as u64 + zeros) as u32).to_le_bytes());
    out
}

/// A small valid MNIST-style set in `dir`: `n_train` training and `n_test` test images of
/// `side`×`side` (test images `test_side`×`test_side`).
fn small_set(dir: &Path, n_train: u32, n_test: u32, side: u32, test_side: u32) {
    let img = |n: u32, s: u32| (0..n * s * s).map(|v| (v % 251) as u8).collect::<Vec<_>>();
    let lab = |n: u32| (0..n).map(|v| (v % 10) as u8).collect::<Vec<_>>();
    common::write_idx(&dir.join("train-images-idx3-ubyte.gz"), 3, &[n_train, side, side], &img(n_train, side), true);
    common::write_idx(&dir.join("train-labels-idx1-ubyte.gz"), 1, &[n_train], &lab(n_train), true);
    common::write_idx(
        &dir.join("t10k-images-idx3-ubyte.gz"),
        3,
        &[n_test, test_side, test_side],
        &img(n_test, test_side),
        true,
    );
    common::write_idx(&dir.join("t10k-labels-idx1-ubyte.gz"), 1, &[n_test], &lab(n_test), true);
}

/// Runs `f` on a thread; fails the test if it has not returned after `secs` seconds
/// (a reader blocked on a FIFO never returns).
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).unwrap_or_else(|_| panic!("{what} did not return within {secs} s"))
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// The memory cap (RLIMIT_DATA) of the child processes below. The `tchlab` binary
/// summarising a small IDX set with one thread needs about 70 MiB of data segment
/// (libtorch and the allocator's arenas), the test binary fetching from a mirror less;
/// 512 MiB leaves room for the 47 MB the bombs' headers announce (and for machines with
/// more threads) but not for the 4 GiB the bombs hold.
const CHILD_DATA_LIMIT: u64 = 512 << 20;

/// Runs `command` with the memory cap and a timeout; returns (success, stderr).
fn run_capped(mut command: Command, timeout: Duration) -> (bool, String) {
    command.stdout(Stdio::null()).stderr(Stdio::piped()).env("OMP_NUM_THREADS", "1").env("TCHLAB_WORKERS", "1");
    // SAFETY: `setrlimit` is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: CHILD_DATA_LIMIT, rlim_max: CHILD_DATA_LIMIT };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("starting the child process");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child process ran past {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), reader.join().unwrap())
}

fn tchlab_info(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tchlab"));
    c.args(["data", "info"]).arg(dir);
    c
}

#[test]
fn gzip_bomb_stops_at_the_size_its_header_announces() {
    let dir = tempfile::tempdir().unwrap();
    // The builder makes valid gzip: exactly the announced content loads.
    let ok = dir.path().join("ok.gz");
    std::fs::write(&ok, gzip_zeros_after(&idx_header(3, &[2, 1024, 1024]), 2 << 20)).unwrap();
    let (dims, data) = read_idx(&ok).unwrap();
    assert_eq!(dims, vec![2, 1024, 1024]);
    assert!(data.len() == 2 << 20 && data.iter().all(|&b| b == 0));
    // A header announcing 60000×28×28 (47 MB) followed by 4 GiB of zeros, in 4 MB.
    let bomb = gzip_zeros_after(&idx_header(3, &[60000, 28, 28]), 4 << 30);
    assert!(bomb.len() < 8 << 20, "{} bytes", bomb.len());
    let path = dir.path().join("bomb.gz");
    std::fs::write(&path, &bomb).unwrap();
    let start = Instant::now();
    let e = err(read_idx(&path));
    assert!(e.contains("bomb.gz") && e.contains("more data than its header announces"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
}

#[test]
fn idx_headers_announcing_absurd_sizes_are_refused_before_decompressing() {
    let dir = tempfile::tempdir().unwrap();
    for gz in [true, false] {
        let name = if gz { "overflow.gz" } else { "overflow" };
        let header = idx_header(3, &[u32::MAX; 4]);
        std::fs::write(dir.path().join(name), if gz { gzip(&header) } else { header }).unwrap();
        let e = err(read_idx(&dir.path().join(name)));
        assert!(e.contains(name) && e.contains("multiply to more than 2^64"), "{e}");
        // 784 MB announced: more than any MNIST-style file, refused without allocating it.
        let name = if gz { "huge.gz" } else { "huge" };
        let header = idx_header(3, &[1_000_000, 28, 28]);
        std::fs::write(dir.path().join(name), if gz { gzip(&header) } else { header }).unwrap();
        let e = err(read_idx(&dir.path().join(name)));
        assert!(e.contains(name) && e.contains("784000000 bytes") && e.contains("more than the 268435456"), "{e}");
    }
}

#[test]
fn gzip_bomb_through_data_info_runs_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // The same command on a valid set succeeds under the cap: the cap leaves room for
    // normal work.
    small_set(dir.path(), 8, 4, 28, 28);
    let (ok, stderr) = run_capped(tchlab_info(dir.path()), Duration::from_secs(120));
    assert!(ok, "a valid set failed under the memory cap: {stderr}");
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        gzip_zeros_after(&idx_header(3, &[60000, 28, 28]), 4 << 30),
    )
    .unwrap();
    let (ok, stderr) = run_capped(tchlab_info(dir.path()), Duration::from_secs(120));
    assert!(!ok);
    assert!(
        stderr.contains("train-images-idx3-ubyte.gz") && stderr.contains("more data than its header announces"),
        "{stderr}"
    );
}

/// Run by [`gzip_bomb_through_a_mirror_runs_in_bounded_memory`] in a child process.
#[test]
#[ignore = "runs in a child process started by gzip_bomb_through_a_mirror_runs_in_bounded_memory"]
fn child_fetch_from_mirror() {
    let (Ok(mirror), Ok(out)) = (std::env::var("HOSTILE_MIRROR"), std::env::var("HOSTILE_OUT")) else { return };
    match Mnist::fetch(MnistKind::Digits, Path::new(&out), &[mirror]) {
        Ok(_) => eprintln!("FETCH-OK"),
        Err(e) => eprintln!("FETCH-ERROR {e:#}"),
    }
}

#[test]
fn gzip_bomb_through_a_mirror_runs_in_bounded_memory() {
    let mirror = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let child = || {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["--ignored", "--exact", "child_fetch_from_mirror", "--nocapture", "--test-threads=1"])
            .env("HOSTILE_MIRROR", mirror.path())
            .env("HOSTILE_OUT", out.path());
        c
    };
    // An empty mirror: the child runs under the cap and reports the missing file.
    let (_, stderr) = run_capped(child(), Duration::from_secs(60));
    assert!(stderr.contains("FETCH-ERROR") && stderr.contains("train-images-idx3-ubyte.gz"), "{stderr}");
    // A re-compressed bomb fails the content check after the announced size, not after
    // decompressing gigabytes.
    std::fs::write(
        mirror.path().join("train-images-idx3-ubyte.gz"),
        gzip_zeros_after(&idx_header(3, &[60000, 28, 28]), 4 << 30),
    )
    .unwrap();
    let (_, stderr) = run_capped(child(), Duration::from_secs(120));
    assert!(stderr.contains("FETCH-ERROR") && stderr.contains("more data than its header announces"), "{stderr}");
    assert!(!out.path().join("train-images-idx3-ubyte.gz").exists());
}

#[test]
fn multi_member_gzip_loads() {
    let dir = tempfile::tempdir().unwrap();
    let img: Vec<u8> = (0..6 * 28 * 28).map(|v| (v % 251) as u8).collect();
    let lab: Vec<u8> = (0..6).map(|v| (v % 10) as u8).collect();
    let members = |raw: &[u8]| -> Vec<u8> {
        let third = raw.len() / 3;
        [&raw[..third], &raw[third..2 * third], &raw[2 * third..]].iter().flat_map(|part| gzip(part)).collect()
    };
    for (prefix, n) in [("train", 6), ("t10k", 6)] {
        let mut images = idx_header(3, &[n, 28, 28]);
        images.extend_from_slice(&img);
        let mut labels = idx_header(1, &[n]);
        labels.extend_from_slice(&lab);
        std::fs::write(dir.path().join(format!("{prefix}-images-idx3-ubyte.gz")), members(&images)).unwrap();
        std::fs::write(dir.path().join(format!("{prefix}-labels-idx1-ubyte.gz")), members(&labels)).unwrap();
    }
    let (dims, data) = read_idx(&dir.path().join("train-images-idx3-ubyte.gz")).unwrap();
    assert_eq!((dims, data), (vec![6, 28, 28], img));
    let m = Mnist::load_dir(MnistKind::Digits, dir.path()).unwrap();
    assert_eq!(m.train_images.size(), vec![6, 28, 28]);
    assert_eq!(m.test_labels.size(), vec![6]);
}

#[test]
fn mnist_sets_without_images_or_with_mismatched_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 0, 4, 28, 28);
    let e = err(Mnist::load_dir(MnistKind::Digits, dir.path()));
    assert!(e.contains("train-images-idx3-ubyte.gz") && e.contains("0 images"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 6, 4, 28, 7);
    let e = err(Mnist::load_dir(MnistKind::Digits, dir.path()));
    assert!(e.contains("t10k-images-idx3-ubyte.gz") && e.contains("7×7") && e.contains("28×28"), "{e}");
}

#[test]
fn fifos_and_special_files_are_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 6, 4, 28, 28);
    let fifo = dir.path().join("t10k-images-idx3-ubyte.gz");
    std::fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo);
    let what = "is a FIFO (named pipe), not a regular file";
    let f = fifo.clone();
    let e = err(within(20, "read_idx on a FIFO", move || read_idx(&f)));
    assert!(e.contains("t10k-images-idx3-ubyte.gz") && e.contains(what), "{e}");
    let d = dir.path().to_path_buf();
    let e = err(within(20, "Mnist::load_dir with a FIFO", move || Mnist::load_dir(MnistKind::Digits, &d)));
    assert!(e.contains(what), "{e}");
    // `tchlab data info` lists the MD5s of the .gz files first.
    let (ok, stderr) = run_capped(tchlab_info(dir.path()), Duration::from_secs(60));
    assert!(!ok && stderr.contains("t10k-images-idx3-ubyte.gz") && stderr.contains(what), "{stderr}");
    // An image, and a local mirror's copy.
    let image = dir.path().join("photo.png");
    mkfifo(&image);
    let e = err(within(20, "Transforms::open on a FIFO", move || Transforms::new().open(&image)));
    assert!(e.contains("photo.png") && e.contains(what), "{e}");
    let mirror = vec![dir.path().display().to_string()];
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path().to_path_buf();
    let e = err(within(20, "fetch_file from a FIFO", move || {
        fetch_file("t10k-images-idx3-ubyte.gz", &mirror, &c, &|_: &[u8]| Ok(()))
    }));
    assert!(e.contains(what), "{e}");
    // Directories, devices and sockets.
    let e = err(read_regular_file(dir.path(), 1 << 20));
    assert!(e.contains("is a directory, not a regular file"), "{e}");
    let e = err(within(20, "reading /dev/zero", || read_regular_file(Path::new("/dev/zero"), 1 << 20)));
    assert!(e.contains("/dev/zero is a character device, not a regular file"), "{e}");
    let socket = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let e = err(read_regular_file(&socket, 1 << 20));
    assert!(e.contains("sock is a socket, not a regular file"), "{e}");
}

#[test]
fn oversized_mirror_and_cache_files_are_refused() {
    let mirror = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // A sparse file one byte over the limit (no disk space used).
    let big = std::fs::File::create(mirror.path().join("x.gz")).unwrap();
    big.set_len(MAX_GZ_BYTES + 1).unwrap();
    let mirrors = vec![mirror.path().display().to_string()];
    let e = err(fetch_file("x.gz", &mirrors, cache.path(), &|_: &[u8]| Ok(())));
    assert!(e.contains("x.gz") && e.contains(&format!("larger than the {MAX_GZ_BYTES} bytes")), "{e}");
    assert!(!cache.path().join("x.gz").exists());
    // IDX files: at most the largest content the header may announce plus the header.
    let idx = mirror.path().join("y.gz");
    std::fs::File::create(&idx).unwrap().set_len(MAX_IDX_DATA_BYTES + 21).unwrap();
    let e = err(read_idx(&idx));
    assert!(e.contains("y.gz") && e.contains("larger than"), "{e}");
}

/// Writes a valid gray PNG of `side`×`side` zero pixels without holding its pixels: the
/// zlib stream is one compressed band of rows repeated (rows of filter byte 0 and zero
/// pixels are all zero bytes), the Adler-32 of zeros computed directly.
fn write_huge_png(path: &Path, side: u32) {
    let row = side as usize + 1;
    let band_rows =
        (0..=side).rev().find(|r| *r > 0 && side.is_multiple_of(*r) && *r as usize * row <= 4 << 20).unwrap();
    let band = deflate_segment(&vec![0u8; band_rows as usize * row]);
    let total = side as u64 * row as u64;
    let mut zlib = vec![0x78, 0x01];
    for _ in 0..side / band_rows {
        zlib.extend_from_slice(&band);
    }
    zlib.extend(deflate_end());
    zlib.extend((((total % 65521) as u32) << 16 | 1).to_be_bytes());
    let chunk = |kind: &[u8], data: &[u8]| -> Vec<u8> {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend(crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend(side.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit gray, deflate, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &zlib));
    png.extend(chunk(b"IEND", &[]));
    std::fs::write(path, png).unwrap();
}

/// Writes a valid gray JPEG of `side`×`side` by streaming rows through libjpeg.
fn write_huge_jpeg(path: &Path, side: u32) {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
    c.set_fastest_defaults();
    c.set_size(side as usize, side as usize);
    c.set_quality(50.0);
    let mut started = c.start_compress(Vec::new()).unwrap();
    let rows = vec![128u8; side as usize * 64];
    for _ in 0..side / 64 {
        started.write_scanlines(&rows).unwrap();
    }
    started.write_scanlines(&rows[..(side % 64) as usize * side as usize]).unwrap();
    std::fs::write(path, started.finish().unwrap()).unwrap();
}

#[test]
fn images_of_huge_dimensions_hit_the_pixel_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Valid files: a PNG of 20000×20000 (400 MP) and a JPEG of 9000×9000 (81 MP).
    let png = dir.path().join("huge.png");
    write_huge_png(&png, 20000);
    assert!(std::fs::metadata(&png).unwrap().len() < 2 << 20);
    let jpg = dir.path().join("huge.jpg");
    write_huge_jpeg(&jpg, 9000);
    assert!(std::fs::metadata(&jpg).unwrap().len() < 8 << 20);
    // The PNG and JPEG builders make valid files: small ones decode.
    let small_png = dir.path().join("small.png");
    write_huge_png(&small_png, 300);
    assert_eq!(Transforms::new().open(&small_png).unwrap().width(), 300);
    let small_jpg = dir.path().join("small.jpg");
    write_huge_jpeg(&small_jpg, 100);
    assert_eq!(Transforms::new().open(&small_jpg).unwrap().width(), 100);

    let start = Instant::now();
    let t = Transforms::new().then(Transform::Resize { width: 32, height: 32 });
    let e = err(t.open(&png));
    let want = format!(
        "{}: 20000×20000 pixels (400 MP) exceeds the limit of 64 MP; resize it or raise Transforms::max_pixels",
        png.display()
    );
    assert!(e.contains(&want), "{e}");
    let e = err(t.open(&jpg));
    assert!(e.contains(&format!("{}: 9000×9000 pixels (81 MP) exceeds the limit of 64 MP", jpg.display())), "{e}");
    // A lower limit applies to both decoders.
    let e = err(Transforms::new().max_pixels(50_000).open(&small_png));
    assert!(e.contains("300×300 pixels (90000 pixels) exceeds the limit of 50000 pixels"), "{e}");
    let e = err(Transforms::new().max_pixels(5_000).open(&small_jpg));
    assert!(e.contains("100×100 pixels (10000 pixels) exceeds the limit of 5000 pixels"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());

    // Through channel_mean_std on an image folder and on a CSV dataset, whose first image
    // is fine.
    let root = dir.path().join("folder");
    for (class, file) in [("a", &small_png), ("b", &png)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        std::fs::copy(file, root.join(class).join(file.file_name().unwrap())).unwrap();
    }
    let folder = ImageFolder::open(&root).unwrap().transforms(t.clone()).unwrap();
    let e = err(channel_mean_std(&folder));
    assert!(e.contains("huge.png: 20000×20000 pixels (400 MP) exceeds the limit of 64 MP"), "{e}");
    let images = dir.path().join("set");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(&small_jpg, images.join("a.jpg")).unwrap();
    std::fs::copy(&jpg, images.join("b.jpg")).unwrap();
    std::fs::write(dir.path().join("set.csv"), "Class Label,File Name\n0,a.jpg\n1,b.jpg\n").unwrap();
    let csv = CsvImageDataset::open(dir.path().join("set.csv")).unwrap().transforms(t).unwrap();
    let e = err(channel_mean_std(&csv));
    assert!(e.contains("b.jpg: 9000×9000 pixels (81 MP) exceeds the limit of 64 MP"), "{e}");
}

/// Batches whose channel count changes between batches (a buggy or hostile dataset).
struct ChangingChannels;

impl Dataset for ChangingChannels {
    fn len(&self) -> usize {
        300
    }
    fn get_seeded(&self, _index: usize, _seed: u64) -> anyhow::Result<Example> {
        Ok(Example { input: vec![0.5], shape: vec![1, 1, 1], label: 0 })
    }
    fn batch(&self, indices: &[usize], _seed: u64) -> anyhow::Result<(tch::Tensor, tch::Tensor)> {
        let c = if indices[0] == 0 { 1 } else { 3 };
        let x = tch::Tensor::zeros([indices.len() as i64, c, 1, 1], (tch::Kind::Float, tch::Device::Cpu));
        Ok((x, tch::Tensor::zeros([indices.len() as i64], (tch::Kind::Int64, tch::Device::Cpu))))
    }
}

#[test]
fn channel_mean_std_reports_inconsistent_batches_instead_of_panicking() {
    let e = err(channel_mean_std(&ChangingChannels));
    assert!(e.contains("3 channels beside images with 1"), "{e}");
}

/// Serves one HTTP response to one request: a `Content-Length` header when given, then
/// `body_bytes` zero bytes or until the client hangs up; returns the bytes sent.
fn serve_once(listener: &std::net::TcpListener, content_length: Option<u64>, body_bytes: u64) -> u64 {
    let (mut stream, _) = listener.accept().unwrap();
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        request.push(byte[0]);
    }
    let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
    if let Some(n) = content_length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return 0;
    }
    let chunk = vec![0u8; 1 << 16];
    let mut sent = 0;
    while sent < body_bytes {
        let n = chunk.len().min((body_bytes - sent) as usize);
        if stream.write_all(&chunk[..n]).is_err() {
            break;
        }
        sent += n as u64;
    }
    sent
}

#[cfg(feature = "download")]
#[test]
fn downloads_larger_than_the_cap_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mirrors = vec![format!("http://{}/", listener.local_addr().unwrap())];
    let cache = tempfile::tempdir().unwrap();
    let server = std::thread::spawn(move || {
        // A Content-Length over the cap: refused before the body is read.
        serve_once(&listener, Some(MAX_GZ_BYTES + 1), 1 << 20);
        // No Content-Length and a body 1 GiB past the cap: the download stops at the cap.
        serve_once(&listener, None, MAX_GZ_BYTES + (1 << 30))
    });
    let e = err(fetch_file("x.gz", &mirrors, cache.path(), &|_: &[u8]| Ok(())));
    assert!(e.contains("x.gz") && e.contains("(its Content-Length), more than the 268435456 bytes allowed"), "{e}");
    let start = Instant::now();
    let e = err(fetch_file("x.gz", &mirrors, cache.path(), &|_: &[u8]| Ok(())));
    assert!(e.contains("x.gz") && e.contains("the download was stopped"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
    let sent = server.join().unwrap();
    assert!(sent < MAX_GZ_BYTES + (64 << 20), "the client read {sent} bytes");
    assert!(!cache.path().join("x.gz").exists());
}
