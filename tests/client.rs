//! The client crate against a real cluster: methods round-trip, SQLSTATEs map to their kinds.

use ff_engine_client::{Client, Error, ErrorKind};
use ff_engine_tests::*;

#[test]
fn key_methods_round_trip_and_errors_map() {
    // Synchronous set-up first (the harness uses the blocking driver), then the async client.
    let db = Cluster::shared().fresh_db("client_keys");
    let mut su = db.connect();
    su.batch_execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_client_nobody') THEN CREATE ROLE it_client_nobody LOGIN; END IF; END $$").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(key_methods(db.conninfo("postgres"), db.conninfo("it_client_nobody")));
}

async fn key_methods(conninfo: String, nobody_conninfo: String) {
    let c = Client::connect(&conninfo).await.unwrap();
    let s = hex32(0x11);
    let seeded = c.seed_hmac("k1", Some(&s)).await.unwrap();
    assert_eq!((seeded.outcome.as_str(), seeded.same_secret), ("seeded", None));
    assert_eq!(c.seed_hmac("k1", Some(&s)).await.unwrap().same_secret, Some(true));
    let rotated = c.rotate_hmac("k2", None, 1000).await.unwrap();
    assert_eq!(rotated.previous_kid.as_deref(), Some("k1"));
    assert_eq!(rotated.outcome, "rotated");
    let kids = c.hmac_kids().await.unwrap();
    assert_eq!(kids.iter().filter(|k| k.active).map(|k| k.kid.as_str()).collect::<Vec<_>>(), vec!["k2"]);
    let k1 = kids.iter().find(|k| k.kid == "k1").unwrap();
    assert_eq!(k1.expires_at_ms.unwrap() - k1.rotated_at_ms.unwrap(), 1000);

    let err = c.rotate_hmac("bad:kid", None, 0).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InvalidInput));
    assert_eq!(err.sqlstate(), Some("WF001"));
    match &err {
        Error::Engine { detail, message, .. } => {
            assert_eq!(detail.as_deref(), Some("invalid_kid"));
            assert!(message.starts_with("invalid_input"));
        }
        other => panic!("{other:?}"),
    }
    let err = c.rotate_hmac("k2", Some(&hex32(0x33)), 0).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::RotationConflict));
    assert!(err.to_string().starts_with("WF005 rotation_conflict"), "{err}");

    // A non-engine error keeps its SQLSTATE.
    let nobody = Client::connect(&nobody_conninfo).await.unwrap();
    let err = nobody.hmac_kids().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("42501"));
    assert!(matches!(err, Error::Database { .. }));
}
