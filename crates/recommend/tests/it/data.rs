//! Reading the interaction formats.

use recommend::{EventKind, Format, RecommendError, read_file};

use crate::fixture;

#[test]
fn yoochoose_session_rec_files_read_as_their_provenance_says() {
    // PROVENANCE.md: train_tr has 53,254 rows, 13,629 sessions and 2,873 items.
    let data = crate::yoochoose("train_tr");
    assert_eq!(data.interactions(), 53_254);
    assert_eq!(data.sessions.len(), 13_629);
    assert_eq!(data.items.len(), 2_873);
    let first = &data.sessions[0];
    assert_eq!(first.id, "3");
    assert_eq!(data.items.name(first.clicks[0].item), "214716935");
    assert_eq!(first.clicks[0].time, 1396437466.94);
    assert!(data.items.all_numeric());
    // Clicks are in time order within every session.
    assert!(data.sessions.iter().all(|s| s.clicks.windows(2).all(|w| w[0].time <= w[1].time)));
}

#[test]
fn yoochoose_original_clicks_dat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yoochoose-clicks.dat");
    std::fs::write(&path, "1,2014-04-07T10:54:09.868Z,214536500,0\n1,2014-04-07T10:51:09.277Z,214536502,0\n2,2014-04-07T13:56:37.614Z,214662742,0\n")
        .unwrap();
    let data = read_file(&path, Format::Yoochoose).unwrap();
    assert_eq!(data.sessions.len(), 2);
    // Sorted by time: the 10:51 click comes first.
    let first: Vec<&str> =
        data.sessions[0].clicks.iter().map(|c| data.items.name(c.item)).collect();
    assert_eq!(first, ["214536502", "214536500"]);
}

#[test]
fn diginetica_uses_the_session_when_the_user_is_na() {
    let data = read_file(&fixture("synthetic/diginetica_train_item_views.csv"), Format::Diginetica)
        .unwrap();
    assert_eq!(data.interactions(), 9);
    assert_eq!(data.sessions.len(), 4);
    let session_one = data.sessions.iter().find(|s| s.id == "1").unwrap();
    assert_eq!(data.users.name(session_one.user), "1");
    let session_three = data.sessions.iter().find(|s| s.id == "3").unwrap();
    assert_eq!(data.users.name(session_three.user), "18278");
    // 2016-05-09 00:00 UTC plus the session's timeframe in milliseconds.
    assert!(
        session_three
            .clicks
            .iter()
            .all(|c| c.time >= 1_462_752_000.0 && c.time < 1_462_752_000.0 + 86_400.0)
    );
}

#[test]
fn csv_with_event_types_users_and_date_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    std::fs::write(
        &path,
        "event_time,user_id,session_id,event_type,item_id\n\
         2024-01-01 10:00:00 UTC,u1,s1,view,A\n\
         2024-01-01 10:01:00 UTC,u1,s1,search,\n\
         2024-01-01 10:02:00 UTC,u1,s1,add_to_cart,A\n\
         2024-01-01 10:03:00 UTC,u1,s1,purchase,A\n\
         2024-01-02 09:00:00 UTC,u1,s2,view,B\n",
    )
    .unwrap();
    let data = read_file(&path, Format::Csv).unwrap();
    assert_eq!(data.sessions.len(), 2);
    assert_eq!(data.users.len(), 1);
    let kinds: Vec<EventKind> = data.sessions[0].clicks.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [EventKind::View, EventKind::Cart, EventKind::Purchase]);
    assert_eq!(data.sessions[0].clicks[0].time, 1_704_103_200.0);
}

#[test]
fn a_bad_time_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, "SessionId\tItemId\tTime\n1\t10\t1396437466.94\n1\t11\tnoon\n").unwrap();
    match read_file(&path, Format::Yoochoose) {
        Err(RecommendError::BadRow { line, field, value, .. }) => {
            assert_eq!((line, field, value.as_str()), (3, "Time", "noon"));
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
}

#[test]
fn split_at_cuts_by_time() {
    let data = crate::sessions("a: x y z\nb: x z");
    // Line 0 clicks at 0, 1, 2 s; line 1 at 1000, 1001 s.
    let (before, after) = data.split_at(1.5);
    assert_eq!(before.interactions(), 2);
    assert_eq!(after.interactions(), 3);
}
