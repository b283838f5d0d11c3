//! Data that does not say what a lenient reader would make of it: labels that are not
//! whole numbers, file names that look like numbers, hidden and empty folders, names
//! that are not UTF-8, images of mixed shapes, and paths that lead out of the dataset.

mod common;

use std::path::{Path, PathBuf};

use tchlab::data::*;

fn err<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

/// `dir/digits.csv` with `text` after the header, and the empty folder `dir/digits/`.
fn csv_layout(dir: &Path, rows: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("digits")).unwrap();
    std::fs::write(dir.join("digits.csv"), format!("Class Label,File Name\n{rows}")).unwrap();
    dir.join("digits.csv")
}

/// A root folder with one class folder per name, each holding `n` 4×4 gray PNGs.
fn folder(root: &Path, classes: &[&str], n: usize) {
    for class in classes {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..n {
            common::write_png(&root.join(class).join(format!("{i}.png")), 4, 4, 10 * i as u8);
        }
    }
}

#[test]
fn csv_labels_must_be_whole_numbers_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    common::write_png(&dir.path().join("a.png"), 4, 4, 1);
    for (bad, why) in
        [("3.7", "not a whole number"), ("3.0", "not a whole number"), ("true", "not an integer"), ("-1", "negative")]
    {
        let csv = csv_layout(dir.path(), &format!("1,a.png\n{bad},a.png\n"));
        std::fs::copy(dir.path().join("a.png"), dir.path().join("digits/a.png")).unwrap();
        let e = err(CsvImageDataset::open(&csv));
        assert!(e.contains("digits.csv") && e.contains("row 2") && e.contains(&format!("`{bad}`")), "{e}");
        assert!(e.contains(why), "{e}");
    }
    // Spaces around a label and a leading + are fine; a missing label is not.
    let csv = csv_layout(dir.path(), "1,a.png\n 2 ,a.png\n+3,a.png\n");
    assert_eq!(CsvImageDataset::open(&csv).unwrap().labels(), &[1, 2, 3]);
    let csv = csv_layout(dir.path(), "1,a.png\n,a.png\n");
    let e = err(CsvImageDataset::open(&csv));
    assert!(e.contains("row 2") && e.contains("missing"), "{e}");
    // With the number of classes known, a label must be below it.
    let csv = csv_layout(dir.path(), "1,a.png\n2,a.png\n");
    let three = CsvOptions { num_classes: Some(3), ..Default::default() };
    assert_eq!(CsvImageDataset::with_options(&csv, &three).unwrap().labels(), &[1, 2]);
    let two = CsvOptions { num_classes: Some(2), ..Default::default() };
    let e = err(CsvImageDataset::with_options(&csv, &two));
    assert!(e.contains("row 2") && e.contains("`2`") && e.contains("number of classes (2)"), "{e}");
}

#[test]
fn numeric_csv_labels_and_features_are_parsed_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "a,b,class label\n0.5,1,0\n1e-3,-2,1\n").unwrap();
    let data = NumericCsv::read(&path, "class label").unwrap();
    assert_eq!(data.features, vec!["a", "b"]);
    for (rows, needle) in [
        ("0.5,1,0\n1.0,2,3.7\n", "`3.7`"),
        ("0.5,1,0\n1.0,2,true\n", "`true`"),
        ("0.5,1,0\n1.0,2,-1\n", "`-1`"),
        ("0.5,1,0\n1.0,x,1\n", "`x`"),
        ("0.5,1,0\n1.0,inf,1\n", "`inf`"),
    ] {
        std::fs::write(&path, format!("a,b,class label\n{rows}")).unwrap();
        let e = err(NumericCsv::read(&path, "class label"));
        assert!(e.contains("x.csv") && e.contains("row 2") && e.contains(needle), "{e}");
    }
}

#[test]
fn digit_only_file_names_are_read_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_layout(dir.path(), "1,007\n2,7\n");
    // PNGs under names without an extension (the decoder goes by the content).
    for (name, value) in [("007", 255), ("7", 0)] {
        let png = dir.path().join(format!("digits/{name}.png"));
        common::write_png(&png, 4, 4, value);
        std::fs::rename(&png, dir.path().join("digits").join(name)).unwrap();
    }
    let ds = CsvImageDataset::open(&csv).unwrap();
    assert_eq!(ds.files()[0].file_name().unwrap(), "007");
    assert!(ds.get(0).unwrap().input.iter().all(|&v| v == 1.0), "row 1 reads 007, not 7");
    assert!(ds.get(1).unwrap().input.iter().all(|&v| v == 0.0));
    // Windows line endings are fine.
    std::fs::write(&csv, "Class Label,File Name\r\n1,007\r\n2,7\r\n").unwrap();
    assert_eq!(CsvImageDataset::open(&csv).unwrap().files()[1].file_name().unwrap(), "7");
    // A name with spaces around it is taken as written; the error says what exists.
    std::fs::write(&csv, "Class Label,File Name\n1, 007\n").unwrap();
    let e = err(CsvImageDataset::open(&csv));
    assert!(e.contains("row 1") && e.contains("`007` exists"), "{e}");
}

#[test]
fn image_folder_ignores_hidden_entries() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), &[".ipynb_checkpoints", "cat", "dog"], 2);
    common::write_png(&dir.path().join("cat/.hidden.png"), 4, 4, 0);
    common::write_png(&dir.path().join("dog/._0.png"), 4, 4, 0);
    let ds = ImageFolder::open(dir.path()).unwrap();
    assert_eq!(ds.classes(), vec!["cat", "dog"]);
    assert_eq!(ds.len(), 4);
    let labels: Vec<i64> = ds.files().iter().map(|f| f.1).collect();
    assert_eq!(labels, vec![0, 0, 1, 1]);
    let names: Vec<String> =
        ds.files().iter().map(|(p, _)| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
    assert_eq!(names, vec!["cat/0.png", "cat/1.png", "dog/0.png", "dog/1.png"]);
}

#[test]
fn image_folder_rejects_an_empty_class_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), &["cat", "dog"], 1);
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    common::write_png(&dir.path().join("empty/.only_hidden.png"), 4, 4, 0);
    let e = err(ImageFolder::open(dir.path()));
    assert!(e.contains("class folder") && e.contains("empty") && e.contains("allow_empty_classes"), "{e}");
    let opts = ImageFolderOptions { allow_empty_classes: true, ..Default::default() };
    let ds = ImageFolder::open_with(dir.path(), opts).unwrap();
    assert_eq!(ds.classes(), vec!["cat", "dog", "empty"]);
    assert_eq!(ds.len(), 2);
}

#[test]
fn image_folder_rejects_a_single_class_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), &["cat"], 2);
    let e = err(ImageFolder::open(dir.path()));
    assert!(e.contains("single class") && e.contains("`cat`") && e.contains("allow_single_class"), "{e}");
    let opts = ImageFolderOptions { allow_single_class: true, ..Default::default() };
    let ds = ImageFolder::open_with(dir.path(), opts).unwrap();
    assert_eq!((ds.classes(), ds.len()), (vec!["cat".to_string()], 2));
}

#[cfg(unix)]
#[test]
fn image_folder_reads_class_folders_whose_names_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
    folder(dir.path(), &["apple"], 1);
    let odd_dir = dir.path().join(odd);
    if std::fs::create_dir(&odd_dir).is_err() {
        eprintln!("this file system refuses non-UTF-8 names; skipping");
        return;
    }
    common::write_png(&odd_dir.join("0.png"), 4, 4, 255);
    common::write_png(&odd_dir.join("1.png"), 4, 4, 255);
    let ds = ImageFolder::open(dir.path()).unwrap();
    assert_eq!(ds.classes(), vec!["apple".to_string(), "caf\u{FFFD}".to_string()]);
    assert_eq!(ds.class_dirs()[1], odd_dir);
    assert_eq!(ds.len(), 3);
    let ex = ds.get(2).unwrap();
    assert_eq!(ex.label, 1);
    assert!(ex.input.iter().all(|&v| v == 1.0));
}

#[test]
fn image_folder_names_the_file_of_another_shape() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), &["cat"], 2);
    std::fs::create_dir(dir.path().join("dog")).unwrap();
    image::RgbImage::new(4, 4).save(dir.path().join("dog/colour.png")).unwrap();
    let ds = ImageFolder::open(dir.path()).unwrap().workers(2);
    let e = err(ds.batch(&[0, 1, 2], 0));
    assert!(e.contains("colour.png") && e.contains("[3, 4, 4]") && e.contains("[1, 4, 4]"), "{e}");
    assert!(e.contains("Grayscale/Rgb"), "{e}");
    // Another size, too; a Grayscale and Resize make them all alike.
    common::write_png(&dir.path().join("dog/colour.png"), 5, 4, 0);
    let e = err(ImageFolder::open(dir.path()).unwrap().get(2));
    assert!(e.contains("colour.png") && e.contains("[1, 4, 5]"), "{e}");
    let t = Transforms::new().then(Transform::Grayscale).then(Transform::Resize { width: 4, height: 4 });
    let (x, _) = ImageFolder::open(dir.path()).unwrap().transforms(t).unwrap().batch(&[0, 1, 2], 0).unwrap();
    assert_eq!(x.size(), vec![3, 1, 4, 4]);
}

#[cfg(unix)]
#[test]
fn csv_paths_must_stay_in_the_image_folder_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    common::write_png(&dir.path().join("x.png"), 4, 4, 7);
    let abs = elsewhere.path().join("path.png");
    common::write_png(&abs, 4, 4, 7);
    let csv = csv_layout(dir.path(), "");
    common::write_png(&dir.path().join("digits/in.png"), 4, 4, 7);
    std::os::unix::fs::symlink(&abs, dir.path().join("digits/link.png")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("digits/in.png"), dir.path().join("digits/inner_link.png")).unwrap();
    let allow = CsvOptions { allow_outside_paths: true, ..Default::default() };
    for name in ["../x.png".to_string(), abs.display().to_string(), "link.png".to_string()] {
        std::fs::write(&csv, format!("Class Label,File Name\n0,in.png\n1,{name}\n")).unwrap();
        let e = err(CsvImageDataset::open(&csv));
        assert!(e.contains("row 2") && e.contains(&format!("`{name}`")), "{e}");
        assert!(e.contains("outside the image folder") && e.contains("CsvOptions::allow_outside_paths"), "{e}");
        let ds = CsvImageDataset::with_options(&csv, &allow).unwrap();
        assert_eq!(ds.get(1).unwrap().label, 1);
    }
    // A link that stays inside the folder, and a `..` that comes back into it, are fine.
    std::fs::write(&csv, "Class Label,File Name\n0,inner_link.png\n1,../digits/in.png\n").unwrap();
    let ds = CsvImageDataset::open(&csv).unwrap();
    assert_eq!(ds.batch(&[0, 1], 0).unwrap().0.size(), vec![2, 1, 4, 4]);
    // A folder instead of a file.
    std::fs::create_dir(dir.path().join("digits/sub")).unwrap();
    std::fs::write(&csv, "Class Label,File Name\n0,sub\n").unwrap();
    let e = err(CsvImageDataset::open(&csv));
    assert!(e.contains("row 1") && e.contains("not a file"), "{e}");
}

#[cfg(unix)]
#[test]
fn image_folder_links_must_stay_in_the_root_unless_allowed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    folder(dir.path(), &["cat", "dog"], 1);
    folder(elsewhere.path(), &["bird"], 1);
    let allow = ImageFolderOptions { allow_outside_paths: true, ..Default::default() };
    // A linked image from outside.
    symlink(elsewhere.path().join("bird/0.png"), dir.path().join("cat/linked.png")).unwrap();
    let e = err(ImageFolder::open(dir.path()));
    assert!(
        e.contains("linked.png") && e.contains("outside the image folder") && e.contains("allow_outside_paths"),
        "{e}"
    );
    assert_eq!(ImageFolder::open_with(dir.path(), allow).unwrap().len(), 3);
    std::fs::remove_file(dir.path().join("cat/linked.png")).unwrap();
    // A linked class folder from outside.
    symlink(elsewhere.path().join("bird"), dir.path().join("bird")).unwrap();
    let e = err(ImageFolder::open(dir.path()));
    assert!(e.contains("bird") && e.contains("outside the image folder"), "{e}");
    assert_eq!(ImageFolder::open_with(dir.path(), allow).unwrap().classes(), vec!["bird", "cat", "dog"]);
    std::fs::remove_file(dir.path().join("bird")).unwrap();
    // Links inside the root are fine.
    symlink(dir.path().join("cat/0.png"), dir.path().join("dog/from_cat.png")).unwrap();
    let ds = ImageFolder::open(dir.path()).unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.batch(&[0, 1, 2], 0).unwrap().1.size(), vec![3]);
}

#[test]
fn csv_label_far_beyond_the_others_is_an_error_naming_its_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("digits")).unwrap();
    common::write_png(&dir.path().join("digits/a.png"), 4, 4, 1);
    let csv = csv_layout(dir.path(), "3,a.png\n1000000000000,a.png\n0,a.png\n");
    let e = err(CsvImageDataset::open(&csv));
    assert!(
        e.contains("row 2") && e.contains("`1000000000000` is far beyond") && e.contains("next largest is 3"),
        "{e}"
    );
    // Not only the absurd: 0 and 1 beside 40 would make 41 classes, 38 of them empty.
    let csv = csv_layout(dir.path(), "0,a.png\n1,a.png\n40,a.png\n");
    let e = err(CsvImageDataset::open(&csv));
    assert!(e.contains("row 3") && e.contains("41 outputs, 38 of them"), "{e}");
    // A subset of classes (3 and 8 of ten digits) is fine, and so is a given class count.
    let csv = csv_layout(dir.path(), "3,a.png\n8,a.png\n");
    assert_eq!(CsvImageDataset::open(&csv).unwrap().labels(), &[3, 8]);
    let csv = csv_layout(dir.path(), "0,a.png\n40,a.png\n");
    let opts = CsvOptions { num_classes: Some(41), ..Default::default() };
    assert_eq!(CsvImageDataset::with_options(&csv, &opts).unwrap().labels(), &[0, 40]);
}

#[test]
fn csv_header_naming_a_column_twice_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("digits")).unwrap();
    common::write_png(&dir.path().join("digits/a.png"), 4, 4, 1);
    let csv = dir.path().join("digits.csv");
    std::fs::write(&csv, "Class Label,File Name,\"File Name\"\n0,a.png,b.png\n").unwrap();
    let e = err(CsvImageDataset::open(&csv));
    assert!(e.contains("columns 2 and 3") && e.contains("both named `File Name`"), "{e}");
    // A comma inside a quoted name does not split it.
    std::fs::write(&csv, "Class Label,File Name,\"Name, File\"\n0,a.png,x\n").unwrap();
    assert_eq!(CsvImageDataset::open(&csv).unwrap().len(), 1);
}
