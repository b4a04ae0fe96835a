//! Logistic regression with an L2 penalty (Newton's method) or an L1 penalty
//! (FISTA, accelerated proximal gradient), and Platt scaling, which is a
//! one-feature logistic regression.

use serde::{Deserialize, Serialize};

use crate::preprocess::Matrix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    L1,
    L2,
}

/// Minimises the weighted mean log loss + `strength` · penalty(coefficients);
/// the intercept is not penalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    pub penalty: Penalty,
    pub strength: f64,
    pub max_iterations: usize,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { penalty: Penalty::L2, strength: 1e-3, max_iterations: 500 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    #[serde(with = "crate::exact_float")]
    pub intercept: f64,
    #[serde(with = "crate::exact_float::vec")]
    pub coefficients: Vec<f64>,
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// Solves `a · x = b` for a symmetric positive definite `a` (row-major n×n)
/// by Cholesky decomposition; None if `a` is not positive definite.
fn cholesky_solve(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * y[k];
        }
        y[i] = sum / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = y[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * x[k];
        }
        x[i] = sum / l[i * n + i];
    }
    Some(x)
}

impl LogisticModel {
    pub fn margin(&self, x: &[f64]) -> f64 {
        self.intercept + self.coefficients.iter().zip(x).map(|(b, v)| b * v).sum::<f64>()
    }

    pub fn fit(x: &Matrix, y: &[f64], weights: &[f64], params: &LogisticParams) -> LogisticModel {
        match params.penalty {
            Penalty::L2 => fit_newton(x, y, weights, params),
            Penalty::L1 => fit_fista(x, y, weights, params),
        }
    }

    /// Weighted mean gradient of the log loss: (intercept part, coefficient part).
    fn gradient(
        &self,
        x: &Matrix,
        y: &[f64],
        weights: &[f64],
        total_weight: f64,
    ) -> (f64, Vec<f64>) {
        let mut g0 = 0.0;
        let mut g = vec![0.0; x.cols];
        for i in 0..x.rows {
            let row = x.row(i);
            let residual = weights[i] * (sigmoid(self.margin(row)) - y[i]) / total_weight;
            g0 += residual;
            for (gj, v) in g.iter_mut().zip(row) {
                *gj += residual * v;
            }
        }
        (g0, g)
    }
}

fn fit_newton(x: &Matrix, y: &[f64], weights: &[f64], params: &LogisticParams) -> LogisticModel {
    let p = x.cols + 1;
    let total_weight: f64 = weights.iter().sum();
    let mut beta = vec![0.0; p]; // beta[0] is the intercept
    for _ in 0..params.max_iterations.min(100) {
        let mut gradient = vec![0.0; p];
        let mut hessian = vec![0.0; p * p];
        let mut augmented = vec![1.0; p];
        for i in 0..x.rows {
            augmented[1..].copy_from_slice(x.row(i));
            let z: f64 = beta.iter().zip(&augmented).map(|(b, v)| b * v).sum();
            let prob = sigmoid(z);
            let w = weights[i] / total_weight;
            let residual = w * (prob - y[i]);
            let curvature = w * prob * (1.0 - prob);
            for a in 0..p {
                gradient[a] += residual * augmented[a];
                let scaled = curvature * augmented[a];
                for b in 0..=a {
                    hessian[a * p + b] += scaled * augmented[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                hessian[b * p + a] = hessian[a * p + b];
            }
            // A tiny ridge on the intercept too keeps separable data solvable.
            let ridge = if a == 0 { 1e-10 } else { params.strength.max(1e-10) };
            hessian[a * p + a] += ridge;
            if a > 0 {
                gradient[a] += params.strength * beta[a];
            }
        }
        let Some(step) = cholesky_solve(&hessian, &gradient) else { break };
        let mut largest = 0.0f64;
        for (b, s) in beta.iter_mut().zip(&step) {
            *b -= s;
            largest = largest.max(s.abs());
        }
        if largest < 1e-9 {
            break;
        }
    }
    LogisticModel { intercept: beta[0], coefficients: beta[1..].to_vec() }
}

fn fit_fista(x: &Matrix, y: &[f64], weights: &[f64], params: &LogisticParams) -> LogisticModel {
    let total_weight: f64 = weights.iter().sum();
    // Step size 1/L, L = ¼ · the largest eigenvalue of the weighted Gram
    // matrix (with the intercept column), by power iteration.
    let mut v = vec![1.0; x.cols + 1];
    let mut eigenvalue = 1.0;
    for _ in 0..30 {
        let mut next = vec![0.0; x.cols + 1];
        for (i, weight) in weights.iter().enumerate() {
            let row = x.row(i);
            let dot = v[0] + row.iter().zip(&v[1..]).map(|(a, b)| a * b).sum::<f64>();
            let w = weight / total_weight * dot;
            next[0] += w;
            for (n, a) in next[1..].iter_mut().zip(row) {
                *n += w * a;
            }
        }
        eigenvalue = next.iter().map(|a| a * a).sum::<f64>().sqrt();
        if eigenvalue <= 0.0 {
            break;
        }
        v = next.into_iter().map(|a| a / eigenvalue).collect();
    }
    let step = 1.0 / (0.25 * eigenvalue * 1.05).max(1e-12);
    let soft = |value: f64, threshold: f64| value.signum() * (value.abs() - threshold).max(0.0);
    let mut current = LogisticModel { intercept: 0.0, coefficients: vec![0.0; x.cols] };
    let mut momentum_point = current.clone();
    let mut t = 1.0f64;
    for _ in 0..params.max_iterations {
        let (g0, g) = momentum_point.gradient(x, y, weights, total_weight);
        let next = LogisticModel {
            intercept: momentum_point.intercept - step * g0,
            coefficients: momentum_point
                .coefficients
                .iter()
                .zip(&g)
                .map(|(b, gj)| soft(b - step * gj, step * params.strength))
                .collect(),
        };
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let factor = (t - 1.0) / t_next;
        let mut change = (next.intercept - current.intercept).abs();
        momentum_point.intercept = next.intercept + factor * (next.intercept - current.intercept);
        for j in 0..x.cols {
            let delta = next.coefficients[j] - current.coefficients[j];
            change = change.max(delta.abs());
            momentum_point.coefficients[j] = next.coefficients[j] + factor * delta;
        }
        current = next;
        t = t_next;
        if change < 1e-7 {
            break;
        }
    }
    current
}

/// Platt scaling: p = σ(a · logit(score) + b), fitted to out-of-fold scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlattScaling {
    #[serde(with = "crate::exact_float")]
    pub slope: f64,
    #[serde(with = "crate::exact_float")]
    pub intercept: f64,
}

impl PlattScaling {
    pub fn fit(scores: &[f64], labels: &[f64]) -> PlattScaling {
        let x = Matrix {
            rows: scores.len(),
            cols: 1,
            values: scores.iter().map(|s| logit(*s)).collect(),
        };
        let weights = vec![1.0; scores.len()];
        let params = LogisticParams { penalty: Penalty::L2, strength: 1e-8, max_iterations: 100 };
        let model = fit_newton(&x, labels, &weights, &params);
        PlattScaling { slope: model.coefficients[0], intercept: model.intercept }
    }

    pub fn apply(&self, score: f64) -> f64 {
        sigmoid(self.slope * logit(score) + self.intercept)
    }
}
