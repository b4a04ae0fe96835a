use models::{ColumnKind, CsvRoles, Dataset, ModelsError};

/// Writes `text` to a temporary CSV file and reads it with `roles`.
fn read(text: &str, roles: &CsvRoles) -> (tempfile::TempDir, Result<Dataset, ModelsError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, text).unwrap();
    let result = Dataset::from_csv(&path, roles);
    (dir, result)
}

fn roles(target: &str, id: Option<&str>) -> CsvRoles {
    CsvRoles { target: Some(target.to_string()), id: id.map(str::to_string) }
}

#[test]
fn csv_column_kinds_are_detected() {
    let text = "id,amount,flag,colour,code,label\n\
                a,1.5,TRUE,red,1,1\n\
                b,,false,blue,2,0\n\
                c,9.83E-05,True,,3,1\n";
    let (_dir, data) = read(text, &roles("label", Some("id")));
    let data = data.unwrap();
    let kinds: Vec<(&str, ColumnKind)> =
        data.columns.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("amount", ColumnKind::Numeric),
            ("flag", ColumnKind::Boolean),
            ("colour", ColumnKind::Categorical),
            ("code", ColumnKind::Numeric),
        ]
    );
    let amount = &data.numeric[0].values;
    assert_eq!(amount[0], 1.5);
    assert!(amount[1].is_nan(), "an empty field is missing");
    assert_eq!(amount[2], 9.83e-5);
    assert_eq!(data.numeric[1].values, [1.0, 0.0, 1.0]);
    assert_eq!(data.categorical[0].values, [Some("red".into()), Some("blue".into()), None]);
    assert_eq!(data.target.as_deref(), Some(&[1.0, 0.0, 1.0][..]));
    assert_eq!(data.ids.as_deref(), Some(&["a".to_string(), "b".into(), "c".into()][..]));
}

#[test]
fn boolean_target_words_are_read() {
    let (_dir, data) = read("x,Revenue\n1,TRUE\n2,FALSE\n3,true\n", &roles("Revenue", None));
    assert_eq!(data.unwrap().target.unwrap(), [1.0, 0.0, 1.0]);
}

#[test]
fn bad_input_names_file_line_and_column() {
    let (_dir, error) = read("x,label\n1,1\n2,maybe\n", &roles("label", None));
    let message = error.unwrap_err().to_string();
    assert!(message.contains("input.csv, line 3, column \"label\""), "{message}");
    assert!(message.contains("\"maybe\""), "{message}");

    let (_dir, error) = read("x,label\n1,1\n", &roles("Revenue", None));
    let message = error.unwrap_err().to_string();
    assert!(message.contains("no column \"Revenue\" (columns: x, label)"), "{message}");

    let (_dir, error) = read("x,label\n1,1\n2,0,7\n", &roles("label", None));
    assert!(matches!(error, Err(ModelsError::Csv { line: 3, .. })), "{error:?}");
}

#[test]
fn scoring_data_must_fit_the_model_schema() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    std::fs::write(&train, "x,label\n1,1\n2,0\n").unwrap();
    let schema = Dataset::from_csv(&train, &roles("label", None)).unwrap().columns;
    let score = dir.path().join("score.csv");
    std::fs::write(&score, "x\n3\nlots\n").unwrap();
    let error = Dataset::from_csv_with_schema(&score, &schema, &roles("label", None)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}, line 3, column \"x\": expected a number (value \"lots\")", score.display())
    );
}

#[test]
fn in_memory_columns_must_have_one_value_per_row() {
    let error = Dataset::new(3).with_numeric("x", vec![1.0, 2.0]).unwrap_err();
    assert_eq!(error.to_string(), "column \"x\" has 2 values, the dataset has 3 rows");
}
