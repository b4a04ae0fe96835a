//! A small neural network: one hidden ReLU layer and a sigmoid output,
//! trained on the weighted log loss with Adam in mini-batches.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_distr_free::normal;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::linear::sigmoid;
use crate::preprocess::Matrix;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpParams {
    pub hidden: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// L2 penalty on the weights (not the biases).
    pub weight_decay: f64,
    pub seed: u64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden: 16,
            epochs: 30,
            batch_size: 64,
            learning_rate: 3e-3,
            weight_decay: 1e-3,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpModel {
    pub inputs: usize,
    pub hidden: usize,
    /// Row-major hidden × inputs.
    #[serde(with = "crate::exact_float::vec")]
    pub hidden_weights: Vec<f64>,
    #[serde(with = "crate::exact_float::vec")]
    pub hidden_bias: Vec<f64>,
    #[serde(with = "crate::exact_float::vec")]
    pub output_weights: Vec<f64>,
    #[serde(with = "crate::exact_float")]
    pub output_bias: f64,
}

/// Adam's running moments for one parameter vector.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    fn new(n: usize) -> Adam {
        Adam { m: vec![0.0; n], v: vec![0.0; n] }
    }

    fn step(&mut self, params: &mut [f64], grads: &[f64], learning_rate: f64, t: i32) {
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8);
        let correction1 = 1.0 - f64::powi(beta1, t);
        let correction2 = 1.0 - f64::powi(beta2, t);
        for k in 0..params.len() {
            self.m[k] = beta1 * self.m[k] + (1.0 - beta1) * grads[k];
            self.v[k] = beta2 * self.v[k] + (1.0 - beta2) * grads[k] * grads[k];
            params[k] -= learning_rate * (self.m[k] / correction1)
                / ((self.v[k] / correction2).sqrt() + epsilon);
        }
    }
}

mod rand_distr_free {
    use rand::Rng;

    /// A standard normal draw (Box–Muller), to avoid a dependency for one function.
    pub fn normal(rng: &mut impl Rng) -> f64 {
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

impl MlpModel {
    fn hidden_activations(&self, x: &[f64], out: &mut [f64]) {
        for (h, a) in out.iter_mut().enumerate() {
            let weights = &self.hidden_weights[h * self.inputs..(h + 1) * self.inputs];
            let z = self.hidden_bias[h] + weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
            *a = z.max(0.0);
        }
    }

    pub fn margin(&self, x: &[f64]) -> f64 {
        let mut hidden = vec![0.0; self.hidden];
        self.hidden_activations(x, &mut hidden);
        self.output_bias + hidden.iter().zip(&self.output_weights).map(|(a, w)| a * w).sum::<f64>()
    }

    pub fn fit(x: &Matrix, y: &[f64], weights: &[f64], params: &MlpParams) -> MlpModel {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
        let (inputs, hidden) = (x.cols, params.hidden.max(1));
        // He initialisation for the ReLU layer, Glorot-like for the output.
        let he = (2.0 / inputs.max(1) as f64).sqrt();
        let mut model = MlpModel {
            inputs,
            hidden,
            hidden_weights: (0..inputs * hidden).map(|_| normal(&mut rng) * he).collect(),
            hidden_bias: vec![0.0; hidden],
            output_weights: (0..hidden)
                .map(|_| normal(&mut rng) * (1.0 / hidden as f64).sqrt())
                .collect(),
            output_bias: 0.0,
        };
        let mean_weight = weights.iter().sum::<f64>() / weights.len().max(1) as f64;
        let rate =
            y.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / (mean_weight * y.len() as f64);
        model.output_bias = crate::linear::logit(rate);
        let mut adam =
            [Adam::new(inputs * hidden), Adam::new(hidden), Adam::new(hidden), Adam::new(1)];
        let mut order: Vec<usize> = (0..x.rows).collect();
        let mut grad_hidden_weights = vec![0.0; inputs * hidden];
        let mut grad_hidden_bias = vec![0.0; hidden];
        let mut grad_output_weights = vec![0.0; hidden];
        let mut activations = vec![0.0; hidden];
        let mut t = 0;
        for _ in 0..params.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(params.batch_size.max(1)) {
                grad_hidden_weights.iter_mut().for_each(|g| *g = 0.0);
                grad_hidden_bias.iter_mut().for_each(|g| *g = 0.0);
                grad_output_weights.iter_mut().for_each(|g| *g = 0.0);
                let mut grad_output_bias = 0.0;
                let scale = 1.0 / (batch.len() as f64 * mean_weight);
                for &i in batch {
                    let row = x.row(i);
                    model.hidden_activations(row, &mut activations);
                    let margin = model.output_bias
                        + activations
                            .iter()
                            .zip(&model.output_weights)
                            .map(|(a, w)| a * w)
                            .sum::<f64>();
                    let delta = weights[i] * (sigmoid(margin) - y[i]) * scale;
                    grad_output_bias += delta;
                    for h in 0..hidden {
                        grad_output_weights[h] += delta * activations[h];
                        if activations[h] > 0.0 {
                            let back = delta * model.output_weights[h];
                            grad_hidden_bias[h] += back;
                            let g = &mut grad_hidden_weights[h * inputs..(h + 1) * inputs];
                            for (gk, v) in g.iter_mut().zip(row) {
                                *gk += back * v;
                            }
                        }
                    }
                }
                for (g, w) in grad_hidden_weights.iter_mut().zip(&model.hidden_weights) {
                    *g += params.weight_decay * w;
                }
                for (g, w) in grad_output_weights.iter_mut().zip(&model.output_weights) {
                    *g += params.weight_decay * w;
                }
                t += 1;
                let lr = params.learning_rate;
                adam[0].step(&mut model.hidden_weights, &grad_hidden_weights, lr, t);
                adam[1].step(&mut model.hidden_bias, &grad_hidden_bias, lr, t);
                adam[2].step(&mut model.output_weights, &grad_output_weights, lr, t);
                let mut bias = [model.output_bias];
                adam[3].step(&mut bias, &[grad_output_bias], lr, t);
                model.output_bias = bias[0];
            }
        }
        model
    }
}
