//! Maximum likelihood by Nelder-Mead (argmin) over log-parameters, as lifetimes does.

use argmin::core::{CostFunction, Error, Executor};
use argmin::solver::neldermead::NelderMead;

use crate::error::{ClvError, Result};

/// Nelder-Mead stops when the costs at the simplex vertices spread less than this.
const COST_SPREAD_TOLERANCE: f64 = 1e-13;
const MAX_ITERATIONS_PER_START: u64 = 4_000;
/// Nelder-Mead can stall on a collapsed simplex; restarting from the best point with a
/// fresh simplex until the cost stops improving makes the result independent of that.
const MAX_RESTARTS: usize = 8;
/// Edge of the starting simplex in log-parameter space (a factor of e^0.5 ≈ 1.65).
const SIMPLEX_STEP: f64 = 0.5;

struct Objective<'a> {
    negative_log_likelihood: &'a dyn Fn(&[f64]) -> f64,
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, log_params: &Self::Param) -> Result<f64, Error> {
        let params: Vec<f64> = log_params.iter().map(|value| value.exp()).collect();
        let cost = (self.negative_log_likelihood)(&params);
        // Nelder-Mead only compares costs, so a non-finite one (parameters at the edge of
        // the domain) is simply worse than every finite one.
        Ok(if cost.is_finite() { cost } else { f64::MAX })
    }
}

/// The minimiser of `negative_log_likelihood` over positive parameters, starting from
/// all ones, with the minimum.
pub fn minimise_positive(
    parameter_count: usize,
    negative_log_likelihood: &dyn Fn(&[f64]) -> f64,
) -> Result<(Vec<f64>, f64)> {
    let mut best = vec![0.0; parameter_count];
    let mut best_cost = f64::INFINITY;
    for _ in 0..MAX_RESTARTS {
        let mut simplex = vec![best.clone()];
        for dimension in 0..parameter_count {
            let mut vertex = best.clone();
            vertex[dimension] += SIMPLEX_STEP;
            simplex.push(vertex);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(COST_SPREAD_TOLERANCE)
            .map_err(|error| ClvError::Internal(error.to_string()))?;
        let result = Executor::new(Objective { negative_log_likelihood }, solver)
            .configure(|state| state.max_iters(MAX_ITERATIONS_PER_START))
            .run()
            .map_err(|error| ClvError::Internal(format!("Nelder-Mead failed: {error}")))?;
        let state = result.state();
        let Some(point) = state.best_param.clone() else {
            return Err(ClvError::Internal("Nelder-Mead returned no parameters".into()));
        };
        let improvement = best_cost - state.best_cost;
        best = point;
        best_cost = state.best_cost;
        if improvement.abs() <= 1e-12 {
            break;
        }
    }
    if best_cost >= f64::MAX {
        return Err(ClvError::Internal("the likelihood is not finite anywhere tried".into()));
    }
    Ok((best.iter().map(|value| value.exp()).collect(), best_cost))
}
