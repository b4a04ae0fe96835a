//! Saving and loading: the same recommendations after a round trip, damage detected.

use recommend::{Recommender, UserFilter, evaluate, predict_next};
use sasrec::{SasRec, SasRecConfig, SasRecError};

use crate::{sessions, tiny, train};

fn yoochoose(split: &str) -> recommend::Dataset {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/yoochoose_100k")
        .join(format!("yoochoose-clicks-100k_{split}.txt"));
    recommend::read_file(&path, recommend::Format::Yoochoose).expect("the fixture reads")
}

/// The first `sessions` sessions of a YOOCHOOSE split: real ids, quick to train on.
fn head(data: &recommend::Dataset, count: usize) -> recommend::Dataset {
    let mut builder = recommend::DatasetBuilder::default();
    for session in data.sessions.iter().take(count) {
        for click in &session.clicks {
            let user = data.users.name(session.user);
            builder.push(&session.id, user, data.items.name(click.item), click.time, click.kind);
        }
    }
    builder.finish()
}

#[test]
fn a_saved_model_loads_with_identical_recommendations() {
    let train_data = head(&yoochoose("train_tr"), 400);
    let valid = head(&yoochoose("train_valid"), 100);
    let model = train(&train_data, &SasRecConfig { epochs: 2, ..tiny() }, Some(&valid));
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    assert_eq!(recommend::saved_algorithm(dir.path()).unwrap(), "sasrec");
    let loaded = SasRec::load(dir.path()).unwrap();
    assert_eq!(loaded.algorithm, model.algorithm);
    // The training record goes through JSON, whose floats may differ in the last bit.
    assert_eq!(loaded.training.epochs.len(), model.training.epochs.len());
    assert_eq!(loaded.training.best_epoch, model.training.best_epoch);
    assert_eq!(loaded.summary, model.summary);
    assert_eq!(loaded.item_vocabulary(), model.item_vocabulary());
    assert_eq!(predict_next(&loaded, &valid, 20), predict_next(&model, &valid, 20));
    assert_eq!(evaluate(&loaded, &valid, 20), evaluate(&model, &valid, 20));
    let filter = UserFilter::default();
    for user in train_data.users.names().iter().take(20) {
        assert_eq!(loaded.user_items(user, 10, &filter), model.user_items(user, 10, &filter));
    }
}

#[test]
fn a_saved_ensemble_loads_every_network() {
    let data = sessions("a: i1 i2 i3\nb: i2 i3 i4\nc: i3 i4 i1");
    let model = train(&data, &SasRecConfig { epochs: 1, members: 3, ..tiny() }, None);
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = SasRec::load(dir.path()).unwrap();
    assert_eq!(loaded.config().members, 3);
    assert_eq!(loaded.other_members.len(), 2);
    for history in [&[0u32, 1][..], &[2], &[3, 0, 1]] {
        assert_eq!(loaded.scores(history), model.scores(history));
    }
    // A member's network missing is an error naming its file.
    std::fs::remove_file(dir.path().join("sasrec-2.safetensors")).unwrap();
    let error = SasRec::load(dir.path()).unwrap_err();
    assert!(error.to_string().contains("sasrec-2.safetensors"), "{error}");
}

#[test]
fn a_damaged_model_directory_is_an_error() {
    let data = sessions("a: i1 i2 i3\nb: i2 i3 i4");
    let model = train(&data, &SasRecConfig { epochs: 1, ..tiny() }, None);
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    // One item more in the vocabulary than the network has rows for.
    let items = dir.path().join("base/items.txt");
    let mut text = std::fs::read_to_string(&items).unwrap();
    text.push_str("i99\n");
    std::fs::write(&items, text).unwrap();
    let error = SasRec::load(dir.path()).unwrap_err();
    assert!(
        matches!(error, SasRecError::Recommend(_) | SasRecError::ModelFormat { .. }),
        "{error}"
    );
    // A network file that is not one.
    model.save(dir.path()).unwrap();
    std::fs::write(dir.path().join("sasrec.safetensors"), b"not tensors").unwrap();
    let error = SasRec::load(dir.path()).unwrap_err();
    assert!(matches!(error, SasRecError::ModelFormat { .. }), "{error}");
}
