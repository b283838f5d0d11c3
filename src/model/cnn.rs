//! A VGG-style convolutional network: blocks of 3×3 convolutions (padding 1, ReLU)
//! each followed by 2×2 max-pooling, then a fully connected classifier.

use anyhow::{Result, ensure};
use tch::{Device, Tensor, nn};

use super::{Generator, Init, Network, init};

/// The blocks and classifier of a [`Cnn`].
///
/// ```
/// use tchlab::model::CnnConfig;
/// let vgg = CnnConfig::vgg16(3, 64, 2);
/// assert_eq!(vgg.flat_features(), 2048);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CnnConfig {
    /// Input channels (1 gray, 3 RGB).
    pub in_channels: i64,
    /// Input height and width (square images).
    pub image_size: i64,
    /// Output channels of each convolution, grouped by block (a max-pool ends each block).
    pub blocks: Vec<Vec<i64>>,
    /// Hidden sizes of the classifier.
    pub classifier: Vec<i64>,
    /// Number of classes.
    pub classes: i64,
    /// Weight initialisation.
    pub weight_init: Init,
    /// Bias initialisation.
    pub bias_init: Init,
    /// Dropout in the classifier (training only).
    pub dropout: f64,
}

impl CnnConfig {
    /// The lecture's VGG16-style network: blocks [64,64], [128,128], [256×4], [512×4],
    /// [512×4], classifier 4096-4096, weights N(0, 0.05), biases 0.
    pub fn vgg16(in_channels: i64, image_size: i64, classes: i64) -> Self {
        CnnConfig {
            in_channels,
            image_size,
            blocks: vec![vec![64, 64], vec![128, 128], vec![256; 4], vec![512; 4], vec![512; 4]],
            classifier: vec![4096, 4096],
            classes,
            weight_init: Init::Normal { mean: 0.0, std: 0.05 },
            bias_init: Init::Zeros,
            dropout: 0.0,
        }
    }

    /// A small network of the same shape that trains in minutes on a CPU:
    /// blocks [16], [32], [64], [64], classifier 128, Kaiming init.
    pub fn small(in_channels: i64, image_size: i64, classes: i64) -> Self {
        CnnConfig {
            in_channels,
            image_size,
            blocks: vec![vec![16], vec![32], vec![64], vec![64]],
            classifier: vec![128],
            classes,
            weight_init: Init::KaimingNormal,
            bias_init: Init::Zeros,
            dropout: 0.0,
        }
    }

    /// Features entering the classifier.
    pub fn flat_features(&self) -> i64 {
        let side = self.image_size >> self.blocks.len();
        side * side * self.blocks.last().and_then(|b| b.last()).copied().unwrap_or(self.in_channels)
    }

    /// `conv[16]-[32]-... fc[128]`.
    pub fn describe(&self) -> String {
        let blocks: Vec<String> = self.blocks.iter().map(|b| format!("{b:?}")).collect();
        format!("conv{} fc{:?} -> {}", blocks.join(""), self.classifier, self.classes)
    }
}

/// A VGG-style convolutional network.
///
/// ```
/// use tchlab::model::{Cnn, CnnConfig, Network};
/// let cnn = Cnn::new(&CnnConfig::small(3, 32, 2), 1).unwrap();
/// let y = cnn.forward_t(&tch::Tensor::zeros([2, 3, 32, 32], tch::kind::FLOAT_CPU), false);
/// assert_eq!(y.size(), vec![2, 2]);
/// ```
pub struct Cnn {
    vs: nn::VarStore,
    convs: Vec<Vec<nn::Conv2D>>,
    fcs: Vec<nn::Linear>,
    config: CnnConfig,
}

impl Cnn {
    /// Builds the network on the CPU; `seed` fixes the initial weights.
    pub fn new(config: &CnnConfig, seed: u64) -> Result<Self> {
        Self::on_device(config, seed, Device::Cpu)
    }

    /// Builds the network on `device`.
    pub fn on_device(config: &CnnConfig, seed: u64, device: Device) -> Result<Self> {
        ensure!(
            !config.blocks.is_empty() && config.blocks.iter().all(|b| !b.is_empty()),
            "every CNN block needs at least one convolution"
        );
        ensure!(
            config.image_size >> config.blocks.len() >= 1,
            "images of {0}×{0} are too small for {1} pooling blocks: use fewer blocks or larger images",
            config.image_size,
            config.blocks.len()
        );
        let mut generator = Generator::new(seed)?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let mut channels = config.in_channels;
        let mut convs = Vec::new();
        for (b, block) in config.blocks.iter().enumerate() {
            let mut layers = Vec::new();
            for (c, &out) in block.iter().enumerate() {
                let fan_in = channels * 9;
                let cfg = nn::ConvConfig {
                    padding: 1,
                    ws_init: nn::Init::Const(0.0),
                    bs_init: nn::Init::Const(0.0),
                    ..Default::default()
                };
                let path = &root / format!("block{}", b + 1) / format!("conv{}", c + 1);
                let mut conv = nn::conv2d(path, channels, out, 3, cfg);
                // tch's order: bias, then weight.
                let fans = (fan_in, out * 9);
                if let Some(bias) = conv.bs.as_mut() {
                    init::refill(bias, config.bias_init, fans, &mut generator)?;
                }
                init::refill(&mut conv.ws, config.weight_init, fans, &mut generator)?;
                layers.push(conv);
                channels = out;
            }
            convs.push(layers);
        }
        let mut sizes = vec![config.flat_features()];
        sizes.extend(&config.classifier);
        sizes.push(config.classes);
        let mut fcs = Vec::new();
        for (k, w) in sizes.windows(2).enumerate() {
            let inits = (config.weight_init, config.bias_init);
            fcs.push(init::linear(&(&root / format!("fc{}", k + 1)), (w[0], w[1]), inits, &mut generator)?);
        }
        Ok(Cnn { vs, convs, fcs, config: config.clone() })
    }

    /// The configuration.
    pub fn config(&self) -> &CnnConfig {
        &self.config
    }
}

impl Network for Cnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut h = xs.shallow_clone();
        for block in &self.convs {
            for conv in block {
                h = h.apply(conv).relu();
            }
            h = h.max_pool2d_default(2);
        }
        h = h.flatten(1, -1);
        let last = self.fcs.len() - 1;
        for (k, fc) in self.fcs.iter().enumerate() {
            h = h.apply(fc);
            if k < last {
                h = h.relu().dropout(self.config.dropout, train);
            }
        }
        h
    }
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }
    fn input_shape(&self) -> Vec<i64> {
        vec![self.config.in_channels, self.config.image_size, self.config.image_size]
    }
    fn outputs(&self) -> i64 {
        self.config.classes
    }
    fn describe(&self) -> String {
        self.config.describe()
    }
}
