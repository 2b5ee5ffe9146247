//! The shared query helpers and the write transaction, on both backends.

use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use orgsettings::db::query::{self, Upserted};
use orgsettings::db::schema::{organization_options, organizations};
use orgsettings::db::{AnyConnection, write_tx};

use crate::common::TestDb;
use crate::db_test_on_both_backends;

fn new_org(conn: &mut AnyConnection) -> i64 {
    new_org_with_slug(conn, "acme")
}

fn new_org_with_slug(conn: &mut AnyConnection, slug: &str) -> i64 {
    let now = query::now();
    diesel::insert_into(organizations::table)
        .values((
            organizations::name.eq("Acme"),
            organizations::slug.eq(slug),
            organizations::date_added.eq(now),
            organizations::updated_at.eq(now),
        ))
        .returning(organizations::id)
        .get_result(conn)
        .unwrap()
}

/// `create_or_update` of one option row, the way the option store uses it.
fn set_option(conn: &mut AnyConnection, org: i64, key: &str, value: &str) -> Upserted {
    set_option_with(conn, org, key, value, || {})
}

fn set_option_with(
    conn: &mut AnyConnection,
    org: i64,
    key: &str,
    value: &str,
    mut after_first_update: impl FnMut(),
) -> Upserted {
    let mut updates = 0;
    query::create_or_update(
        conn,
        |conn| {
            let rows = diesel::update(
                organization_options::table
                    .filter(organization_options::organization_id.eq(org))
                    .filter(organization_options::key.eq(key)),
            )
            .set(organization_options::value.eq(value))
            .execute(conn)?;
            updates += 1;
            if updates == 1 {
                after_first_update();
            }
            Ok(rows)
        },
        |conn| {
            diesel::insert_into(organization_options::table)
                .values((
                    organization_options::organization_id.eq(org),
                    organization_options::key.eq(key),
                    organization_options::value.eq(value),
                ))
                .execute(conn)
        },
    )
    .unwrap()
}

fn option_rows(conn: &mut AnyConnection, org: i64) -> Vec<(String, String)> {
    organization_options::table
        .filter(organization_options::organization_id.eq(org))
        .select((organization_options::key, organization_options::value))
        .order(organization_options::id)
        .load(conn)
        .unwrap()
}

db_test_on_both_backends!(
    create_or_update_inserts_a_missing_row_then_updates_it,
    two_threads_racing_to_create_the_same_row_make_one_row_and_both_succeed,
    a_unique_violation_inside_a_transaction_rolls_back_only_the_insert,
    a_write_transaction_that_fails_writes_nothing,
    sqlite_connections_enforce_foreign_keys,
    connections_that_just_answered_are_handed_out_unchecked_and_idle_or_failed_ones_checked,
    quick_reads_run_on_the_calling_thread_for_a_database_on_this_host_with_an_idle_connection,
    a_write_inside_a_quick_read_is_refused_and_writes_nothing,
    writes_sent_to_the_writer_thread_run_there_in_arrival_order_and_outlive_a_panic,
);

fn create_or_update_inserts_a_missing_row_then_updates_it(db: TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let org = new_org(&mut conn);
    assert_eq!(
        set_option(&mut conn, org, "sentry:x", "1"),
        Upserted::Created
    );
    assert_eq!(
        set_option(&mut conn, org, "sentry:x", "2"),
        Upserted::Updated(1)
    );
    assert_eq!(
        option_rows(&mut conn, org),
        vec![("sentry:x".to_owned(), "2".to_owned())]
    );
}

fn two_threads_racing_to_create_the_same_row_make_one_row_and_both_succeed(db: TestDb) {
    let pool = db.pool();
    let org = new_org(&mut pool.get().unwrap());
    let both_updated = Arc::new(Barrier::new(2));
    let threads: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|value| {
            let pool = pool.clone();
            let barrier = both_updated.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                // both UPDATEs find nothing before either INSERTs: a real race
                set_option_with(&mut conn, org, "sentry:race", value, || {
                    barrier.wait();
                })
            })
        })
        .collect();
    let mut outcomes: Vec<Upserted> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    outcomes.sort_by_key(|o| matches!(o, Upserted::Updated(_)));
    assert_eq!(outcomes, vec![Upserted::Created, Upserted::Updated(1)]);
    let rows = option_rows(&mut pool.get().unwrap(), org);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].1 == "a" || rows[0].1 == "b");
}

fn a_unique_violation_inside_a_transaction_rolls_back_only_the_insert(db: TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let org = new_org(&mut conn);
    let result: Result<Upserted, diesel::result::Error> = write_tx(&mut conn, |conn| {
        let mut first = true;
        let outcome = query::create_or_update(
            conn,
            |conn| {
                if first {
                    first = false;
                    return Ok(0);
                }
                diesel::update(
                    organization_options::table
                        .filter(organization_options::organization_id.eq(org)),
                )
                .set(organization_options::value.eq("mine"))
                .execute(conn)
            },
            |conn| {
                diesel::insert_into(organization_options::table)
                    .values((
                        organization_options::organization_id.eq(org),
                        organization_options::key.eq("sentry:k"),
                        organization_options::value.eq("theirs"),
                    ))
                    .execute(conn)?;
                diesel::insert_into(organization_options::table)
                    .values((
                        organization_options::organization_id.eq(org),
                        organization_options::key.eq("sentry:k"),
                        organization_options::value.eq("duplicate"),
                    ))
                    .execute(conn)
            },
        )?;
        // the transaction still works after the failed savepoint
        organizations::table.count().get_result::<i64>(conn)?;
        Ok(outcome)
    });
    assert_eq!(result.unwrap(), Upserted::Updated(0));
    assert!(
        option_rows(&mut conn, org).is_empty(),
        "the failed insert was rolled back with its savepoint"
    );
}

fn a_write_transaction_that_fails_writes_nothing(db: TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let result: Result<(), diesel::result::Error> = write_tx(&mut conn, |conn| {
        new_org(conn);
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    let count: i64 = organizations::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 0);
}

fn sqlite_connections_enforce_foreign_keys(db: TestDb) {
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    let orphan = diesel::insert_into(organization_options::table)
        .values((
            organization_options::organization_id.eq(999_999_i64),
            organization_options::key.eq("k"),
            organization_options::value.eq("v"),
        ))
        .execute(&mut conn);
    assert!(
        orphan.is_err(),
        "an option of a missing organization is refused"
    );
}

#[test]
fn sqlite_databases_use_wal_and_normal_synchronous() {
    let db = TestDb::create(crate::common::Backend::Sqlite).unwrap();
    let pool = db.pool();
    let mut conn = pool.get().unwrap();
    #[derive(QueryableByName)]
    struct Pragma {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mode: Pragma = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(mode.value, "wal");
    let sync: Pragma =
        diesel::sql_query("SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(sync.value, "1", "NORMAL");
    let fk: Pragma =
        diesel::sql_query("SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(fk.value, "1");
    // commits never checkpoint: the pool's checkpoint thread does
    #[derive(QueryableByName)]
    struct AutoCheckpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        wal_autocheckpoint: i32,
    }
    let auto: AutoCheckpoint = diesel::sql_query("PRAGMA wal_autocheckpoint")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(auto.wal_autocheckpoint, 0);
}

#[test]
fn the_checkpoint_thread_copies_what_writers_left_in_the_wal_into_the_database_file() {
    let db = TestDb::create(crate::common::Backend::Sqlite).unwrap();
    let pool = db.pool();
    let org = new_org(&mut pool.get().unwrap());
    let before = pool.checkpoints().unwrap();
    // some 3 000 pages of writes: SQLite's automatic checkpoint, were it on, would have run
    let text = "x".repeat(4000);
    for i in 0..3000 {
        write_tx(&mut pool.get().unwrap(), |conn| -> QueryResult<()> {
            set_option(
                conn,
                org,
                &format!("sentry:page{}", i % 50),
                &format!("{i}{text}"),
            );
            Ok(())
        })
        .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let after = loop {
        let stats = pool.checkpoints().unwrap();
        if stats.runs > before.runs && stats.wal_frames > 0 && stats.backfilled == stats.wal_frames
        {
            break stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete checkpoint within 5 s: {stats:?}"
        );
        std::thread::sleep(orgsettings::db::CHECKPOINT_EVERY);
    };
    assert!(after.wal_frames > 0, "{after:?}");
    // what the checkpoint copied is what a new connection reads
    assert_eq!(option_rows(&mut pool.get().unwrap(), org).len(), 50);
}

#[test]
fn a_postgresql_pool_has_no_checkpoint_thread() {
    let Some(db) = TestDb::create(crate::common::Backend::Postgres) else {
        return;
    };
    assert_eq!(db.pool().checkpoints(), None);
}

/// A SQLite pool of `size` connections whose connections never wait for SQLite's lock: with
/// `busy_timeout = 0` a writer that meets it fails at once with "database is locked".
fn sqlite_pool_without_busy_wait(db: &TestDb, size: u32) -> orgsettings::db::Pool {
    let url = orgsettings::db::DatabaseUrl::parse(db.url()).unwrap();
    let pool = orgsettings::db::connect(&url, size).unwrap();
    orgsettings::db::migrate(&pool, &url).unwrap();
    pool
}

fn without_busy_wait(conn: &mut AnyConnection) {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("PRAGMA busy_timeout = 0").unwrap();
}

#[test]
fn sixty_four_sqlite_writers_at_once_all_commit_without_meeting_the_database_lock() {
    const WRITERS: usize = 64;
    let db = TestDb::create(crate::common::Backend::Sqlite).unwrap();
    let pool = sqlite_pool_without_busy_wait(&db, WRITERS as u32);
    let org = new_org(&mut pool.get().unwrap());
    let start = Arc::new(Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (pool, start) = (pool.clone(), start.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                without_busy_wait(&mut conn);
                start.wait();
                write_tx(&mut conn, |conn| -> QueryResult<()> {
                    set_option(conn, org, &format!("sentry:writer{i}"), "1");
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    Ok(())
                })
                .map_err(|e| e.to_string())
            })
        })
        .collect();
    let failures: Vec<String> = writers
        .into_iter()
        .filter_map(|w| w.join().unwrap().err())
        .collect();
    assert_eq!(failures, Vec::<String>::new(), "no writer met the lock");
    assert_eq!(option_rows(&mut pool.get().unwrap(), org).len(), WRITERS);
}

#[test]
fn a_single_statement_write_takes_its_turn_behind_a_write_transaction() {
    let db = TestDb::create(crate::common::Backend::Sqlite).unwrap();
    let pool = sqlite_pool_without_busy_wait(&db, 4);
    let org = new_org(&mut pool.get().unwrap());
    let (holding, release) = (
        std::sync::mpsc::channel::<()>(),
        std::sync::mpsc::channel::<()>(),
    );
    let (held_tx, held_rx) = holding;
    let (release_tx, release_rx) = release;
    let holder = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            write_tx(&mut conn, |conn| -> QueryResult<()> {
                set_option(conn, org, "sentry:first", "1");
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
        })
    };
    held_rx.recv().unwrap();
    let single = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            without_busy_wait(&mut conn);
            orgsettings::db::write(&mut conn, |conn| {
                diesel::update(organizations::table.find(org))
                    .set(organizations::name.eq("Renamed"))
                    .execute(conn)
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    release_tx.send(()).unwrap();
    holder.join().unwrap().unwrap();
    assert_eq!(single.join().unwrap().unwrap(), 1, "waited, then wrote");
}

#[test]
fn sqlite_writers_take_their_turns_in_the_order_they_came() {
    const WAITING: usize = 12;
    let db = TestDb::create(crate::common::Backend::Sqlite).unwrap();
    let pool = sqlite_pool_without_busy_wait(&db, WAITING as u32 + 2);
    let org = new_org(&mut pool.get().unwrap());
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            write_tx(&mut conn, |_| -> QueryResult<()> {
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
        })
    };
    held_rx.recv().unwrap();
    let waiting: Vec<_> = (0..WAITING)
        .map(|i| {
            let (pool, order) = (pool.clone(), order.clone());
            let writer = std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                write_tx(&mut conn, |conn| -> QueryResult<()> {
                    order.lock().unwrap().push(i);
                    set_option(conn, org, &format!("sentry:w{i}"), "1");
                    Ok(())
                })
            });
            // the next writer comes well after this one is waiting
            std::thread::sleep(std::time::Duration::from_millis(50));
            writer
        })
        .collect();
    release_tx.send(()).unwrap();
    holder.join().unwrap().unwrap();
    for writer in waiting {
        writer.join().unwrap().unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        (0..WAITING).collect::<Vec<_>>(),
        "first come, first served"
    );
}

fn connections_that_just_answered_are_handed_out_unchecked_and_idle_or_failed_ones_checked(
    db: TestDb,
) {
    // one connection, so every checkout gets the same one
    let url = orgsettings::db::DatabaseUrl::parse(db.url()).unwrap();
    let pool = orgsettings::db::connect(&url, 1).unwrap();
    let statements_of_a_checkout = || {
        let before = orgsettings::db::query_count(&pool);
        drop(pool.get().unwrap());
        orgsettings::db::query_count(&pool) - before
    };
    orgsettings::db::ping(&mut pool.get().unwrap()).unwrap();
    assert_eq!(statements_of_a_checkout(), 0, "it answered just now");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(statements_of_a_checkout(), 1, "idle for a second: checked");
    {
        let mut conn = pool.get().unwrap();
        let failed = diesel::sql_query("SELECT * FROM no_such_table").execute(&mut conn);
        assert!(failed.is_err());
    }
    assert_eq!(
        statements_of_a_checkout(),
        1,
        "its last statement failed: checked"
    );
    assert_eq!(statements_of_a_checkout(), 0, "the check answered");
}

fn quick_reads_run_on_the_calling_thread_for_a_database_on_this_host_with_an_idle_connection(
    db: TestDb,
) {
    // the SQLite file and the tests' PostgreSQL on a loopback address are both on this host (a
    // server across a network is told apart by the URL: the unit tests of `db`)
    let url = orgsettings::db::DatabaseUrl::parse(db.url()).unwrap();
    assert!(url.is_on_this_host(), "{url}");
    let pool = orgsettings::db::connect(&url, 1).unwrap();
    let here = std::thread::current().id();
    let ran = orgsettings::db::read_here(&pool, |conn| {
        orgsettings::db::ping(conn).unwrap();
        std::thread::current().id()
    });
    assert_eq!(ran.ok(), Some(here), "run right here");
    // the pool's one connection is out: nothing runs, the read is given back
    let held = pool.get().unwrap();
    let given_back = orgsettings::db::read_here(&pool, |_| ());
    assert!(given_back.is_err(), "no idle connection: given back");
    drop(held);
}

fn a_write_inside_a_quick_read_is_refused_and_writes_nothing(db: TestDb) {
    let url = orgsettings::db::DatabaseUrl::parse(db.url()).unwrap();
    let pool = orgsettings::db::connect(&url, 1).unwrap();
    orgsettings::db::migrate(&pool, &url).unwrap();
    let Ok(refused) = orgsettings::db::read_here(&pool, |conn| {
        write_tx(conn, |conn| Ok::<_, diesel::result::Error>(new_org(conn)))
    }) else {
        // PostgreSQL runs nothing here (see above)
        assert_eq!(db.backend(), orgsettings::db::Backend::Postgres);
        return;
    };
    let err = refused.unwrap_err().to_string();
    assert!(err.contains("a write inside `db::read_here`"), "{err}");
    let single = orgsettings::db::read_here(&pool, |conn| {
        orgsettings::db::write(conn, |conn| {
            Ok::<_, diesel::result::Error>(new_org_with_slug(conn, "other"))
        })
    });
    assert!(matches!(single, Ok(Err(_))), "a single-statement write too");
    let orgs: i64 = organizations::table
        .count()
        .get_result(&mut pool.get().unwrap())
        .unwrap();
    assert_eq!(orgs, 0);
    // the connection goes back to the pool able to write
    let mut conn = pool.get().unwrap();
    write_tx(&mut conn, |conn| {
        Ok::<_, diesel::result::Error>(new_org(conn))
    })
    .unwrap();
}

fn writes_sent_to_the_writer_thread_run_there_in_arrival_order_and_outlive_a_panic(db: TestDb) {
    let url = orgsettings::db::DatabaseUrl::parse(db.url()).unwrap();
    let pool = orgsettings::db::connect(&url, 2).unwrap();
    orgsettings::db::migrate(&pool, &url).unwrap();
    let org = new_org(&mut pool.get().unwrap());
    let send = |i: usize| {
        orgsettings::db::on_writer_thread(&pool, move |conn| {
            write_tx(conn, |conn| {
                set_option(conn, org, &format!("sentry:w{i}"), &i.to_string());
                Ok::<_, diesel::result::Error>(std::thread::current().name().map(str::to_owned))
            })
        })
    };
    if db.backend() == orgsettings::db::Backend::Postgres {
        assert!(
            send(0).is_err(),
            "PostgreSQL: given back for the blocking pool"
        );
        return;
    }
    let answers: Vec<_> = (0..20).map(|i| send(i).ok().unwrap()).collect();
    for answer in answers {
        let thread = answer.blocking_recv().unwrap().unwrap();
        assert_eq!(thread.as_deref(), Some("sqlite-writer"));
    }
    let order: Vec<String> = option_rows(&mut pool.get().unwrap(), org)
        .into_iter()
        .map(|(_, value)| value)
        .collect();
    let sent: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(order, sent, "written in the order they were sent");

    // a write that panics loses its answer; the next one runs
    let panicked = orgsettings::db::on_writer_thread(&pool, |_| -> QueryResult<()> {
        panic!("a bug in a write")
    })
    .ok()
    .unwrap();
    assert!(panicked.blocking_recv().is_err(), "no answer from a panic");
    let after = send(99).ok().unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(after.as_deref(), Some("sqlite-writer"));
}
