//! The operator scenario on a PostgreSQL store and ledger: `PROVKIT_PG_URL`, or else a
//! throwaway cluster started for this process (`provkit_postgres::cluster`, as
//! provkit-postgres's own tests do; without PostgreSQL installed the test fails saying
//! how to get it, it never passes silently). Each test has its own schema.

mod support;

use provkit_postgres::cluster::TestSchema;
use support::{Env, scenario};

#[test]
fn full_scenario_on_postgres() {
    let schema = TestSchema::new("cli_scenario");
    let spec = format!("{}#{}", schema.url(), schema.name());
    let env = Env::new("pg-scenario");
    // Nothing there yet: refused, nothing created.
    let e = env.refused(&["ca", "list", "--store", &spec]);
    assert!(e.contains("not a provkit store"), "{e}");
    scenario(&env, &["--store", &spec], &[]);
    // The store's keys are in the database, wrapped: a second process with the
    // passphrase sees the same CA; with another passphrase it is refused.
    let list = env.json(&["ca", "list", "--store", &spec]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let mut wrong = Env::new("pg-wrong");
    wrong.vars = vec![("PROVKIT_PASSPHRASE".into(), "another".into())];
    let e = wrong.refused(&["ca", "list", "--store", &spec]);
    assert!(e.contains("wrong passphrase"), "{e}");
}
