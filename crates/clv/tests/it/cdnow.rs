use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use clv::{
    TimeUnit, Transaction, calibration_and_holdout, evaluate_holdout, fit_bgnbd, fit_gamma_gamma,
    read_cdnow, rfm_summary,
};

use crate::{close, day};

fn cdnow() -> Vec<Transaction> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/cdnow/CDNOW_master.txt");
    read_cdnow(BufReader::new(File::open(&path).expect("CDNOW fixture"))).unwrap()
}

#[test]
fn cdnow_fits_match_lifetimes() {
    let transactions = cdnow();
    assert_eq!(transactions.len(), 69_659);
    let customers = rfm_summary(&transactions, day("1997-09-30"), TimeUnit::Weeks).unwrap();
    assert_eq!(customers.len(), 23_570);

    let bgnbd = fit_bgnbd(&customers).unwrap();
    let got = bgnbd.params;
    for (name, got, want) in [
        ("r", got.r, LIFETIMES_BGNBD[0]),
        ("alpha", got.alpha, LIFETIMES_BGNBD[1]),
        ("a", got.a, LIFETIMES_BGNBD[2]),
        ("b", got.b, LIFETIMES_BGNBD[3]),
    ] {
        assert!(close(got, want, 0.01), "BG/NBD {name}: {got} vs lifetimes {want}");
    }

    let spend = fit_gamma_gamma(&customers).unwrap();
    assert_eq!(spend.customers, 9_450);
    let got = spend.params;
    for (name, got, want) in [
        ("p", got.p, LIFETIMES_GAMMA_GAMMA[0]),
        ("q", got.q, LIFETIMES_GAMMA_GAMMA[1]),
        ("v", got.v, LIFETIMES_GAMMA_GAMMA[2]),
    ] {
        assert!(close(got, want, 0.01), "Gamma-Gamma {name}: {got} vs lifetimes {want}");
    }

    let split = calibration_and_holdout(
        &transactions,
        day("1997-09-30"),
        day("1998-06-30"),
        TimeUnit::Weeks,
    )
    .unwrap();
    let holdout = evaluate_holdout(&bgnbd.params, &split, 7);
    assert!(holdout.mae <= LIFETIMES_HOLDOUT_MAE * 1.0001, "MAE {}", holdout.mae);
}

/// lifetimes 0.11.3's fit on this file (`bench/clv_peers.py`; rounded in
/// tests/data/cdnow/PROVENANCE.md): `r`, `alpha`, `a`, `b`.
const LIFETIMES_BGNBD: [f64; 4] =
    [0.251624011424104, 4.788945170327028, 0.7234330357288162, 2.161086981372379];
/// `p`, `q`, `v` on the 9,450 repeat customers with positive mean spend.
const LIFETIMES_GAMMA_GAMMA: [f64; 3] = [6.275358592836066, 3.624450210391096, 14.983688961951682];
/// lifetimes' mean absolute error of the 39-week holdout predictions, all 23,570 customers.
const LIFETIMES_HOLDOUT_MAE: f64 = 0.8187422923395584;
