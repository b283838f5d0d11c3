//! Every figure type renders to SVG and PNG from real small data: sizes, non-blank
//! pixels, and the expected text.

use tch::Tensor;
use tchlab::plot::{Figure, Series};
use tchlab::prelude::*;

fn check(fig: &Figure, texts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("f.svg");
    let png_path = dir.path().join("f.png");
    fig.save(&svg_path).unwrap();
    fig.save(&png_path).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "not an SVG");
    for t in texts {
        assert!(svg.contains(t), "the SVG lacks `{t}`");
    }
    let img = image::open(&png_path).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (fig.width, fig.height));
    let non_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let total = (img.width() * img.height()) as usize;
    assert!(non_white > total / 100, "the PNG is nearly blank ({non_white} of {total} pixels)");
    // Text is drawn in the PNG too: the title row has dark pixels.
    let dark_in_title = (0..img.width())
        .flat_map(|x| (4..28).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
        .count();
    if !fig.title.is_empty() {
        assert!(dark_in_title > 20, "no title text in the PNG");
    }
    assert!(fig.save(dir.path().join("f.pdf")).is_err());
}

fn history() -> History {
    let loader = DataLoader::new(Xor::lecture().dataset(), 100).unwrap().shuffle(1);
    let valid = DataLoader::new(Xor::lecture().dataset(), 750).unwrap();
    let mut m = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
    Trainer::new(TrainConfig::sgd(0.1, 6).quiet()).fit(&mut m, &loader, Some(&valid)).unwrap()
}

#[test]
fn line_charts_minibatch_loss_and_curves() {
    let h = history();
    check(&Figure::minibatch_loss(&h, 5), &["Loss per minibatch", "running mean (5)", "epoch"]);
    check(&Figure::curves("Accuracy", &[("mlp", &h)], "accuracy"), &["mlp train", "mlp valid", "accuracy (%)"]);
    check(&Figure::lines("Lines", "x", "y", vec![Series::line("a", vec![(0.0, 1.0), (1.0, 2.0)])]), &["Lines", "a"]);
}

#[test]
fn decision_regions_images_and_heatmaps() {
    let m = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
    let cells = tchlab::metrics::decision_grid(&m, (-2.0, 2.0), (-2.0, 2.0), 0.1).unwrap();
    let pts = vec![(1.0, 1.0, 0), (-1.0, 1.0, 1), (0.5, -1.0, 1)];
    check(&Figure::decision_regions("Regions", (-2.0, 2.0), (-2.0, 2.0), cells, pts), &["Regions", "class 1"]);
    let imgs = Tensor::rand([6, 28, 28], tch::kind::FLOAT_CPU);
    let caps: Vec<String> = (0..6).map(|i| format!("t: {i} p: {}", 9 - i)).collect();
    check(&Figure::image_grid("Digits", &imgs, &caps, 3, false).unwrap(), &["t: 0 p: 9", "Digits"]);
    let rgb = Tensor::rand([2, 3, 64, 64], tch::kind::FLOAT_CPU);
    check(&Figure::image_grid("Photos", &rgb, &["P: cat | T: dog".into()], 2, true).unwrap(), &["P: cat | T: dog"]);
    check(
        &Figure::confusion_matrix(&[vec![50, 3], vec![7, 40]], &["cat".into(), "dog".into()]),
        &["predicted", "true", "50", "cat"],
    );
    check(
        &Figure::heatmap(
            "Sweep",
            vec![vec![90.0, 95.5], vec![10.0, 97.25]],
            vec!["0.01".into(), "0.1".into()],
            vec!["8".into(), "32".into()],
            "hidden units",
            "learning rate",
        ),
        &["97.250", "hidden units"],
    );
}

#[test]
fn activation_gallery_histograms_dead_units_and_grids() {
    check(&Figure::activation_gallery(&Activation::ALL, (-3.0, 3.0)), &["leaky_relu", "mish", "sinc", "df/dz"]);
    let w: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    check(
        &Figure::histograms(
            "Weights",
            "value",
            vec![("layer1".into(), w.clone()), ("layer2".into(), w.iter().map(|v| v * 0.5).collect())],
            30,
        ),
        &["layer1", "fraction"],
    );
    let mut h = History::default();
    for e in 0..5 {
        h.record("dead_fraction", vec![0.1 * e as f64, 0.05]);
    }
    check(&Figure::dead_units("Dead units", &h), &["hidden layer 2", "dead units (%)"]);
    let a = Figure::lines("A", "x", "y", vec![Series::line("s", vec![(0.0, 0.0), (1.0, 1.0)])]);
    let grid = Figure::grid(vec![a.clone(), a.clone(), a], 2);
    assert_eq!((grid.width, grid.height), (1280, 800));
    check(&grid, &["A"]);
}

#[test]
fn history_renders_as_a_table() {
    let h = history();
    let t = tchlab::display::Table::from_frame(&h.frame().unwrap()).unwrap();
    assert_eq!(t.columns, vec!["epoch", "split", "loss", "accuracy", "lr", "seconds"]);
    assert_eq!(t.rows.len(), 12);
    assert!(t.to_html().contains("<th style=\"padding:2px 8px;text-align:right\">accuracy</th>"));
    let dir = tempfile::tempdir().unwrap();
    h.save_csv(&dir.path().join("h.csv")).unwrap();
    let back = History::load_csv(&dir.path().join("h.csv")).unwrap();
    assert_eq!(back.epochs.len(), 12);
    assert_eq!(back.epochs[3].split, h.epochs[3].split);
    assert!((back.epochs[3].loss - h.epochs[3].loss).abs() < 1e-12);
}

#[test]
fn a_history_csv_reads_back_exactly_and_a_bad_one_names_its_row() {
    let mut h = History::default();
    h.push(1, "train", 0.1 + 0.2, 1.0 / 3.0, 0.1, f64::NAN);
    h.push(2, "valid", 1e-300, 0.0, 0.05, 12.5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    h.save_csv(&path).unwrap();
    let back = History::load_csv(&path).unwrap();
    assert_eq!(back.epochs.len(), 2);
    for (a, b) in h.epochs.iter().zip(&back.epochs) {
        assert_eq!((a.epoch, &a.split), (b.epoch, &b.split));
        for (x, y) in [(a.loss, b.loss), (a.accuracy, b.accuracy), (a.lr, b.lr), (a.seconds, b.seconds)] {
            assert_eq!(x.to_bits(), y.to_bits(), "{x} read back as {y}");
        }
    }
    let err = |text: &str| {
        std::fs::write(&path, text).unwrap();
        format!("{:#}", History::load_csv(&path).unwrap_err())
    };
    let header = "epoch,split,loss,accuracy,lr,seconds\n";
    assert!(err("a,b\n1,2\n").contains("not a tchlab history"));
    assert!(err(&format!("{header}1,train,0.5,0.9,0.1\n")).contains("row 2: 5 fields, expected 6"));
    assert!(err(&format!("{header}1,train,0.5,0.9,0.1,1\nx,train,0.5,0.9,0.1,1\n")).contains("row 3: epoch `x`"));
    assert!(err(&format!("{header}1,train,lots,0.9,0.1,1\n")).contains("row 2: loss `lots` is not a number"));
    let mut bad = History::default();
    bad.push(1, "a,b", 0.5, 0.5, 0.1, 1.0);
    assert!(format!("{:#}", bad.save_csv(&path).unwrap_err()).contains("without commas"));
}
