//! Depth buys expressiveness (Telgarsky 2016): the sawtooth that `k` compositions of the
//! tent map draw on [0, 1] has 2^k linear pieces. A ReLU net of `k` hidden layers of width
//! 2 represents it exactly with 6k + 1 parameters; a net of one hidden layer of width w
//! draws at most w + 1 pieces, so at the same parameter count it cannot, and it needs
//! about 2^k units to. The steps: [`data`] (the sawtooth), [`exact_deep`] (the deep net
//! with its weights set by hand), [`shallow_fit`] (one hidden layer with evenly spaced
//! kinks, its output layer fitted by least squares: the best such a net does), [`train`]
//! (the deep shape and the equal-budget shallow shape trained by Adam from random starts),
//! [`results`] (pieces and errors, typed), [`present`] (figures, a table), [`run`].

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{List, Presentation, Report, settings};
use crate::display::Table;
use crate::model::{Activation, Mlp, MlpConfig, MlpEnsemble, Network};
use crate::plot::{Figure, Scale, Series, Style};
use crate::train::{EnsembleLoss, EnsembleTrain};

settings! {
    /// Settings of the depth-expressiveness experiment.
    ///
    /// ```
    /// let c = tchlab::experiments::depth_expressiveness::Config::lecture();
    /// assert_eq!((c.compositions, c.seeds), (5, 5));
    /// ```
    "depth-expressiveness",
    pub struct Config {
        /// Compositions of the tent map, k: the sawtooth has 2^k linear pieces, the deep net k
        /// hidden layers of width 2.
        compositions: usize = 5,
        /// Training points, evenly spaced on [0, 1].
        points: i64 = 513,
        /// Hidden units of the one-hidden-layer nets fitted by least squares (besides the one
        /// with the deep net's parameter count).
        widths: List<i64> = List(vec![4, 16, 24, 31, 32, 48, 64]),
        /// Full-batch Adam steps of the trained nets.
        steps: usize = 3000,
        /// Adam's learning rate.
        lr: f64 = 0.01,
        /// Trained nets per shape (seeds `seed`, `seed` + 1, …: each its own random start).
        seeds: i64 = 5,
        /// Seed of the first trained net.
        seed: u64 = 1,
    }
}

impl Config {
    /// Fewer steps, seeds and widths (seconds).
    pub fn ci() -> Self {
        Config { steps: 1000, seeds: 3, widths: List(vec![4, 16, 31, 32]), ..Self::lecture() }
    }
}

/// The tent map applied `k` times to `x` in [0, 1]: a sawtooth of 2^(k−1) teeth.
///
/// ```
/// use tchlab::experiments::depth_expressiveness::sawtooth;
/// assert_eq!(sawtooth(0.25, 1), 0.5);
/// assert_eq!(sawtooth(0.25, 2), 1.0);
/// assert_eq!(sawtooth(0.5, 3), 0.0);
/// ```
pub fn sawtooth(x: f64, k: usize) -> f64 {
    (0..k).fold(x, |v, _| if v < 0.5 { 2.0 * v } else { 2.0 - 2.0 * v })
}

/// The sawtooth sampled at `points` evenly spaced inputs of [0, 1] (inputs `[n, 1]`,
/// targets `[n, 1]`, both `f32`).
pub struct Data {
    /// Inputs.
    pub x: Tensor,
    /// The sawtooth at the inputs.
    pub y: Tensor,
}

/// Step 1: the training points.
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{Config, data};
/// let d = data(&Config::ci()).unwrap();
/// assert_eq!(d.x.size(), vec![513, 1]);
/// ```
pub fn data(c: &Config) -> Result<Data> {
    ensure!(c.points >= 2, "points = {}: the sawtooth needs at least 2 points", c.points);
    ensure!((1..=12).contains(&c.compositions), "compositions = {}: use 1 to 12", c.compositions);
    let x = Tensor::linspace(0.0, 1.0, c.points, (Kind::Double, tch::Device::Cpu));
    let xs: Vec<f64> = Vec::try_from(&x)?;
    let y = Tensor::from_slice(&xs.iter().map(|&v| sawtooth(v, c.compositions)).collect::<Vec<_>>());
    Ok(Data { x: x.to_kind(Kind::Float).unsqueeze(1), y: y.to_kind(Kind::Float).unsqueeze(1) })
}

/// The shape of the deep net: `k` hidden ReLU layers of width 2.
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{Config, deep_shape};
/// assert_eq!(deep_shape(&Config::lecture()).parameter_count(), 31);
/// ```
pub fn deep_shape(c: &Config) -> MlpConfig {
    MlpConfig::new(1, &vec![2; c.compositions], 1).activation(Activation::Relu)
}

/// The one-hidden-layer net with at most the deep net's parameter count (3w + 1 ≤ 6k + 1).
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{Config, equal_budget_shape};
/// assert_eq!(equal_budget_shape(&Config::lecture()).hidden, vec![10]);
/// ```
pub fn equal_budget_shape(c: &Config) -> MlpConfig {
    let budget = deep_shape(c).parameter_count();
    MlpConfig::new(1, &[(budget - 1) / 3], 1).activation(Activation::Relu)
}

/// Step 2: the deep net with its weights set by hand. Each hidden layer computes the two
/// units relu(t) and relu(t − ½) of its input t, and the next layer's input is the tent
/// 2·relu(t) − 4·relu(t − ½): k layers compose the tent map k times, exactly.
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{Config, exact_deep, sawtooth};
/// let c = Config::lecture();
/// let net = exact_deep(&c).unwrap();
/// let y = net.forward(&tch::Tensor::from_slice(&[0.3f32]).unsqueeze(1)).double_value(&[0, 0]);
/// assert!((y - sawtooth(0.3, c.compositions)).abs() < 1e-5);
/// ```
pub fn exact_deep(c: &Config) -> Result<Mlp> {
    let net = Mlp::new(&deep_shape(c), c.seed)?;
    let _guard = tch::no_grad_guard();
    let layers = net.layers();
    for (i, layer) in layers.iter().enumerate() {
        let (w, b): (&[f32], &[f32]) = match i {
            0 => (&[1.0, 1.0], &[0.0, -0.5]),
            _ if i + 1 == layers.len() => (&[2.0, -4.0], &[0.0]),
            _ => (&[2.0, -4.0, 2.0, -4.0], &[0.0, -0.5]),
        };
        layer.ws.shallow_clone().copy_(&Tensor::from_slice(w).reshape(layer.ws.size()));
        if let Some(bs) = &layer.bs {
            bs.shallow_clone().copy_(&Tensor::from_slice(b));
        }
    }
    Ok(net)
}

/// Step 3: one hidden layer of `width` ReLU units with kinks at 0, 1/w, …, (w − 1)/w
/// (unit i computes relu(x − i/w)) and its output weights and bias fitted by least squares
/// to the training points: the best a net of that width does with evenly spaced kinks.
/// Returns the net's values on `xs` (`f64`, in the shape of `xs`).
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{Config, data, shallow_fit};
/// let c = Config::lecture();
/// let d = data(&c).unwrap();
/// // 2^5 = 32 units put a kink at every corner of the sawtooth: an exact fit.
/// let fit = shallow_fit(&d, 32, &d.x).unwrap();
/// let err = (fit - d.y.to_kind(tch::Kind::Double)).abs().max().double_value(&[]);
/// assert!(err < 1e-9, "{err}");
/// ```
pub fn shallow_fit(data: &Data, width: i64, xs: &Tensor) -> Result<Tensor> {
    ensure!(width >= 1, "width {width}: a hidden layer needs at least one unit");
    let knots = Tensor::arange(width, (Kind::Double, tch::Device::Cpu)) / width as f64;
    let features = |x: &Tensor| {
        let hidden = (x.to_kind(Kind::Double) - knots.unsqueeze(0)).relu();
        Tensor::cat(&[hidden, Tensor::ones([x.size()[0], 1], (Kind::Double, tch::Device::Cpu))], 1)
    };
    let (a, b) = (features(&data.x), data.y.to_kind(Kind::Double));
    // Least squares on the features themselves (no normal equations: they square the
    // conditioning); gelsd: by singular values, exact for these small systems.
    let (solution, _, _, _) = a.f_linalg_lstsq(&b, None, "gelsd")?;
    Ok(features(xs).matmul(&solution))
}

/// Nets of one shape trained on the sawtooth from `seeds` random starts.
pub struct Trained {
    /// The shape.
    pub config: MlpConfig,
    /// The nets, one member per seed.
    pub nets: MlpEnsemble,
}

/// Step 4: trains `seeds` nets of shape `config` on the sawtooth (full-batch Adam, squared
/// error, `steps` steps), all at once.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::{Config, data, deep_shape, train};
/// let c = Config::ci();
/// let deep = train(&c, &data(&c)?, &deep_shape(&c))?;
/// assert_eq!(deep.nets.members(), c.seeds);
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, data: &Data, config: &MlpConfig) -> Result<Trained> {
    let mut nets = MlpEnsemble::new(config, c.seeds, c.seed)?;
    let targets = data.y.unsqueeze(0).expand([c.seeds, -1, -1], false);
    EnsembleTrain::adam(c.lr, c.steps, EnsembleLoss::Mse).fit(&mut nets, &data.x, &targets)?;
    println!("{}: {} nets of {} parameters trained", config.describe(), c.seeds, config.parameter_count());
    Ok(Trained { config: config.clone(), nets })
}

/// The number of linear pieces of a function sampled at points `dx` apart: the runs of
/// equal slope at least two intervals long (a kink between two samples gives one interval
/// an in-between slope; it counts once). Slopes count as equal within 10⁻² plus 10⁻³ of
/// the largest slope, above the rounding of `f32` outputs.
///
/// ```
/// use tchlab::experiments::depth_expressiveness::{linear_pieces, sawtooth};
/// let ys: Vec<f64> = (0..=1024).map(|i| sawtooth(i as f64 / 1024.0, 3)).collect();
/// assert_eq!(linear_pieces(&ys, 1.0 / 1024.0), 8);
/// let flat: Vec<f64> = (0..=1024).map(|i| 0.5 + 1e-7 * ((i * 7919) % 13) as f64).collect();
/// assert_eq!(linear_pieces(&flat, 1.0 / 1024.0), 1);
/// ```
pub fn linear_pieces(ys: &[f64], dx: f64) -> usize {
    let slopes: Vec<f64> = ys.windows(2).map(|w| (w[1] - w[0]) / dx).collect();
    let tolerance = 1e-2 + 1e-3 * slopes.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    let (mut pieces, mut run) = (0, 0);
    for (i, s) in slopes.iter().enumerate() {
        run = if i > 0 && (s - slopes[i - 1]).abs() <= tolerance { run + 1 } else { 1 };
        if run == 2 {
            pieces += 1;
        }
    }
    pieces.max(1)
}

/// Points at which pieces are counted: 2^13 intervals of [0, 1], so that every kink of
/// the exact sawtooth (at multiples of 2^−k) and of the least-squares nets is a sample.
const GRID: i64 = 1 << 13;

/// The grid, `[GRID + 1, 1]` in `f64`: pieces are counted on double-precision outputs.
fn grid() -> Tensor {
    Tensor::linspace(0.0, 1.0, GRID + 1, (Kind::Double, tch::Device::Cpu)).unsqueeze(1)
}

/// A net's fit: its squared error on the training points and its pieces on the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Mean squared error to the sawtooth on the training points.
    pub mse: f64,
    /// Linear pieces on [0, 1].
    pub pieces: usize,
}

/// The fits of one shape's trained nets.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeResults {
    /// Hidden layer sizes.
    pub hidden: Vec<i64>,
    /// Trainable parameters.
    pub parameters: i64,
    /// One fit per seed.
    pub fits: Vec<Fit>,
}

impl ShapeResults {
    /// The seed with the smallest error, and its index.
    pub fn best(&self) -> (usize, Fit) {
        let best = self.fits.iter().copied().enumerate().min_by(|a, b| a.1.mse.total_cmp(&b.1.mse));
        best.unwrap_or((0, Fit { mse: f64::NAN, pieces: 0 }))
    }
}

/// A one-hidden-layer net fitted by least squares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShallowResults {
    /// Hidden units.
    pub width: i64,
    /// Its parameters, 3w + 1.
    pub parameters: i64,
    /// Its fit.
    pub fit: Fit,
}

/// Everything the experiment measured, as typed values.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// Pieces of the sawtooth, 2^k.
    pub target_pieces: usize,
    /// The deep net with hand-set weights.
    pub exact: Fit,
    /// Its parameters (6k + 1).
    pub deep_parameters: i64,
    /// One hidden layer with at most the deep net's parameters, fitted by least squares.
    pub equal_budget: ShallowResults,
    /// One hidden layer of each configured width, fitted by least squares.
    pub shallow: Vec<ShallowResults>,
    /// The deep shape trained by Adam from random starts.
    pub deep_trained: ShapeResults,
    /// The equal-budget shallow shape trained by Adam from random starts.
    pub equal_budget_trained: ShapeResults,
}

/// A fit from outputs on the training points (`[n, 1]`) and on the grid.
fn fit(on_points: &Tensor, on_grid: &Tensor, y: &Tensor) -> Result<Fit> {
    let mse = (on_points.to_kind(Kind::Double) - y.to_kind(Kind::Double)).square().mean(Kind::Double).double_value(&[]);
    let ys: Vec<f64> = Vec::try_from(on_grid.reshape([-1]).to_kind(Kind::Double))?;
    Ok(Fit { mse, pieces: linear_pieces(&ys, 1.0 / GRID as f64) })
}

/// `net` with its parameters in double precision (pieces are counted on `f64` outputs).
fn in_double(mut net: Mlp) -> Mlp {
    net.var_store_mut().double();
    net
}

/// The fit of a net in double precision.
fn net_fit(net: &Mlp, data: &Data) -> Result<Fit> {
    let _guard = tch::no_grad_guard();
    fit(&net.forward(&data.x.to_kind(Kind::Double)), &net.forward(&grid()), &data.y)
}

/// The fits of every trained net of `t`.
fn trained_results(t: &Trained, data: &Data) -> Result<ShapeResults> {
    let fits = (0..t.nets.members()).map(|k| net_fit(&in_double(t.nets.member(k)?), data)).collect::<Result<_>>()?;
    Ok(ShapeResults { hidden: t.config.hidden.clone(), parameters: t.config.parameter_count(), fits })
}

fn shallow_results(data: &Data, width: i64) -> Result<ShallowResults> {
    let f = fit(&shallow_fit(data, width, &data.x)?, &shallow_fit(data, width, &grid())?, &data.y)?;
    Ok(ShallowResults { width, parameters: 3 * width + 1, fit: f })
}

/// Step 5: pieces and errors of every net.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let (deep, equal) = (train(&c, &d, &deep_shape(&c))?, train(&c, &d, &equal_budget_shape(&c))?);
/// let r = results(&c, &d, &exact_deep(&c)?, &deep, &equal)?;
/// assert_eq!(r.exact.pieces, r.target_pieces);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, data: &Data, exact: &Mlp, deep: &Trained, equal: &Trained) -> Result<Results> {
    let mut copy = Mlp::new(exact.config(), c.seed)?;
    copy.var_store_mut().copy(exact.var_store())?;
    Ok(Results {
        target_pieces: 1 << c.compositions,
        exact: net_fit(&in_double(copy), data)?,
        deep_parameters: exact.parameter_count(),
        equal_budget: shallow_results(data, equal.config.hidden[0])?,
        shallow: c.widths.0.iter().map(|&w| shallow_results(data, w)).collect::<Result<_>>()?,
        deep_trained: trained_results(deep, data)?,
        equal_budget_trained: trained_results(equal, data)?,
    })
}

/// Two panels on the grid: the sawtooth with the exact deep net; the sawtooth with the
/// least-squares net of the deep net's budget and the best trained net of each shape.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let exact = exact_deep(&c)?;
/// let (deep, equal) = (train(&c, &d, &deep_shape(&c))?, train(&c, &d, &equal_budget_shape(&c))?);
/// let r = results(&c, &d, &exact, &deep, &equal)?;
/// let figure = fit_figure(&c, &d, &exact, &deep, &equal, &r)?;
/// # anyhow::Ok(())
/// ```
pub fn fit_figure(
    c: &Config,
    data: &Data,
    exact: &Mlp,
    deep: &Trained,
    equal: &Trained,
    r: &Results,
) -> Result<Figure> {
    let g = grid();
    let xs: Vec<f64> = Vec::try_from(g.reshape([-1]))?;
    let curve = |ys: Tensor| -> Result<Vec<(f64, f64)>> {
        let ys: Vec<f64> = Vec::try_from(ys.reshape([-1]).to_kind(Kind::Double))?;
        Ok(xs.iter().copied().zip(ys).step_by(4).collect())
    };
    let best = |t: &Trained, s: &ShapeResults| -> Result<Tensor> {
        let net = in_double(t.nets.member(s.best().0 as i64)?);
        Ok(tch::no_grad(|| net.forward(&g)))
    };
    let truth: Vec<(f64, f64)> = xs.iter().map(|&x| (x, sawtooth(x, c.compositions))).step_by(4).collect();
    let sawtooth_line =
        || Series::line(&format!("sawtooth, tent map composed {} times", c.compositions), truth.clone());
    let exact_curve = curve(tch::no_grad(|| exact.forward(&g.to_kind(Kind::Float))))?;
    let budget = r.equal_budget;
    let represented = Figure::lines(
        &format!("Depth {}: the sawtooth exactly, {} parameters", c.compositions, r.deep_parameters),
        "x",
        "f(x)",
        vec![
            sawtooth_line().style(Style::Faint),
            Series::line(&format!("deep {:?}, weights set by hand", vec![2; c.compositions]), exact_curve)
                .style(Style::Dashed),
        ],
    );
    let fitted = Figure::lines(
        &format!("Fits with {} parameters", r.deep_parameters),
        "x",
        "f(x)",
        vec![
            sawtooth_line().style(Style::Faint),
            Series::line(
                &format!("one layer of {}, least squares", budget.width),
                curve(shallow_fit(data, budget.width, &g)?)?,
            ),
            Series::line(&format!("deep, Adam (best of {} seeds)", c.seeds), curve(best(deep, &r.deep_trained)?)?),
            Series::line(
                &format!("one layer of {}, Adam (best of {})", budget.width, c.seeds),
                curve(best(equal, &r.equal_budget_trained)?)?,
            ),
        ],
    );
    Ok(Figure::row(vec![represented.y_range(-0.1, 1.5), fitted.y_range(-0.1, 1.5)]))
}

/// Every net: its shape, parameters, squared error and pieces (the trained ones per seed).
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let exact = exact_deep(&c)?;
/// let (deep, equal) = (train(&c, &d, &deep_shape(&c))?, train(&c, &d, &equal_budget_shape(&c))?);
/// let r = results(&c, &d, &exact, &deep, &equal)?;
/// assert!(!shapes_table(&c, &r).rows.is_empty());
/// # anyhow::Ok(())
/// ```
pub fn shapes_table(c: &Config, r: &Results) -> Table {
    let row = |what: String, parameters: i64, fits: &[Fit]| {
        let mse: Vec<String> = fits.iter().map(|f| format!("{:.1e}", f.mse)).collect();
        let pieces: Vec<String> = fits.iter().map(|f| f.pieces.to_string()).collect();
        vec![what, parameters.to_string(), mse.join(" "), pieces.join(" ")]
    };
    let deep = format!("{:?}", vec![2; c.compositions]);
    let mut rows = vec![row(format!("{deep}, weights by hand"), r.deep_parameters, &[r.exact])];
    for s in std::iter::once(&r.equal_budget).chain(&r.shallow) {
        rows.push(row(format!("[{}], least squares", s.width), s.parameters, &[s.fit]));
    }
    rows.push(row(format!("{deep}, Adam per seed"), r.deep_trained.parameters, &r.deep_trained.fits));
    let e = &r.equal_budget_trained;
    rows.push(row(format!("{:?}, Adam per seed", e.hidden), e.parameters, &e.fits));
    Table::from_rows(&["hidden layers", "parameters", "MSE", "linear pieces"], rows)
}

/// Pieces and squared error against parameters: the least-squares one-layer nets as lines,
/// the deep nets as points.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let exact = exact_deep(&c)?;
/// let (deep, equal) = (train(&c, &d, &deep_shape(&c))?, train(&c, &d, &equal_budget_shape(&c))?);
/// let r = results(&c, &d, &exact, &deep, &equal)?;
/// let figure = pieces_figure(&r);
/// # anyhow::Ok(())
/// ```
pub fn pieces_figure(r: &Results) -> Figure {
    let mut shallow: Vec<ShallowResults> = r.shallow.iter().copied().chain([r.equal_budget]).collect();
    shallow.sort_by_key(|s| s.parameters);
    shallow.dedup_by_key(|s| s.parameters);
    let at = |f: fn(&ShallowResults) -> f64| shallow.iter().map(|s| (s.parameters as f64, f(s))).collect::<Vec<_>>();
    let deep_point = |v: f64| vec![(r.deep_parameters as f64, v)];
    let trained = r.deep_trained.best().1;
    Figure::row(vec![
        Figure::lines(
            "Linear pieces against parameters",
            "parameters",
            "linear pieces",
            vec![
                Series::line("one hidden layer, least squares", at(|s| s.fit.pieces as f64)),
                Series::line("deep, weights by hand", deep_point(r.exact.pieces as f64)).style(Style::Points),
                Series::line("deep, Adam (best seed)", deep_point(trained.pieces as f64)).style(Style::Points),
            ],
        )
        .x_scale(Scale::Log(2.0))
        .y_scale(Scale::Log(2.0)),
        Figure::lines(
            "Squared error against parameters (10⁻¹² shown for 0)",
            "parameters",
            "MSE",
            vec![
                Series::line("one hidden layer, least squares", at(|s| s.fit.mse.max(1e-12))),
                Series::line("deep, weights by hand", deep_point(r.exact.mse.max(1e-12))).style(Style::Points),
                Series::line("deep, Adam (best seed)", deep_point(trained.mse.max(1e-12))).style(Style::Points),
            ],
        )
        .x_scale(Scale::Log(2.0))
        .y_scale(Scale::Log(10.0)),
    ])
}

/// The results as named numbers (the names `targets.json` and `summary.json` use).
impl super::Metrics for Results {
    fn metrics(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            ("target_pieces".to_string(), self.target_pieces as f64),
            ("exact_pieces".to_string(), self.exact.pieces as f64),
            ("exact_mse".to_string(), self.exact.mse),
            ("deep_parameters".to_string(), self.deep_parameters as f64),
            ("equal_budget_width".to_string(), self.equal_budget.width as f64),
            ("equal_budget_parameters".to_string(), self.equal_budget.parameters as f64),
            ("equal_budget_mse".to_string(), self.equal_budget.fit.mse),
            ("equal_budget_pieces".to_string(), self.equal_budget.fit.pieces as f64),
        ];
        for s in &self.shallow {
            out.push((format!("shallow_w{}_mse", s.width), s.fit.mse));
            out.push((format!("shallow_w{}_pieces", s.width), s.fit.pieces as f64));
        }
        if let Some(s) = self.shallow.iter().find(|s| s.fit.mse < 1e-9) {
            out.push(("shallow_exact_width".into(), s.width as f64));
            out.push(("shallow_exact_parameters".into(), s.parameters as f64));
        }
        for (name, s) in [("deep_trained", &self.deep_trained), ("equal_budget_trained", &self.equal_budget_trained)] {
            out.push((format!("{name}_best_mse"), s.best().1.mse));
            out.push((format!("{name}_best_pieces"), s.best().1.pieces as f64));
        }
        out
    }
}

/// The table and both figures, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let exact = exact_deep(&c)?;
/// let (deep, equal) = (train(&c, &d, &deep_shape(&c))?, train(&c, &d, &equal_budget_shape(&c))?);
/// let r = results(&c, &d, &exact, &deep, &equal)?;
/// assert_eq!(present(&c, &d, &exact, &deep, &equal, &r)?.figure_names(), vec!["fits", "pieces"]);
/// # anyhow::Ok(())
/// ```
pub fn present(
    c: &Config,
    data: &Data,
    exact: &Mlp,
    deep: &Trained,
    equal: &Trained,
    r: &Results,
) -> Result<Presentation> {
    Ok(Presentation::default()
        .table("nets", shapes_table(c, r))
        .figure("fits", fit_figure(c, data, exact, deep, equal, r)?)
        .figure("pieces", pieces_figure(r)))
}

/// Runs every step: the data, the exact deep net, the trained deep and equal-budget nets,
/// the least-squares shallow nets (inside [`results`]), the results and the figures.
///
/// ```no_run
/// use tchlab::experiments::depth_expressiveness::{Config, run};
/// run(&Config::ci())?.print();
/// # anyhow::Ok(())
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let d = data(c)?;
    let exact = exact_deep(c)?;
    let deep = train(c, &d, &deep_shape(c))?;
    let equal = train(c, &d, &equal_budget_shape(c))?;
    let r = results(c, &d, &exact, &deep, &equal)?;
    Ok(c.report(&r, present(c, &d, &exact, &deep, &equal, &r)?, clock))
}
