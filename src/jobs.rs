//! Background work: the requirement jobs a save records, started right after its commit; and, in
//! `serve`, deletions whose grace period is over, requirement jobs left unfinished (by a crash or
//! a failure), expired sessions and old rate-limit events, at start and then every minute.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::db::{Pool, query};
use crate::members;
use crate::models::job::Runner;
use crate::models::session;
use crate::ratelimit;
use crate::settings::delete;

/// Counted attempts are kept this long at most (the longest rate-limit window in use).
const RATE_EVENTS_KEPT: Duration = Duration::from_secs(24 * 3600);

pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs the requirement jobs a save recorded on a thread of their own, so the save answers at once
/// however many members a job removes. A failure is logged; the job stays unfinished and `run`
/// finishes it later. Running a job twice at once is safe (see `members::run_requirement_job`).
#[derive(Clone)]
pub struct Background {
    pool: Pool,
    config: Arc<Config>,
}

impl Background {
    pub fn new(pool: Pool, config: Arc<Config>) -> Self {
        Self { pool, config }
    }
}

impl Runner for Background {
    fn start(&self, job_ids: Vec<i64>) {
        if job_ids.is_empty() {
            return;
        }
        let (pool, config) = (self.pool.clone(), self.config.clone());
        let spawned = std::thread::Builder::new()
            .name("requirement-jobs".into())
            .spawn(move || {
                for job_id in job_ids {
                    let result = pool.get().map_err(anyhow::Error::new).and_then(|mut conn| {
                        members::run_requirement_job(&mut conn, &config, job_id)
                    });
                    match result {
                        Ok(removed) => tracing::info!(job_id, removed, "requirement job finished"),
                        Err(err) => tracing::error!(
                            job_id,
                            error = format!("{err:#}"),
                            "requirement job failed; it is retried later"
                        ),
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "could not start the requirement jobs; they are retried later");
        }
    }
}

/// Runs forever on the actix runtime.
pub async fn run(pool: Pool, config: Arc<Config>) {
    let mut interval = actix_web::rt::time::interval(INTERVAL);
    loop {
        interval.tick().await;
        let (pool, config) = (pool.clone(), config.clone());
        let result = actix_web::web::block(move || -> anyhow::Result<(Vec<String>, usize)> {
            let mut conn = pool.get()?;
            let deleted = delete::delete_due(&mut conn, query::now())?;
            let removed = members::run_unfinished_jobs(&mut conn, &config)?;
            session::purge_expired(&mut conn)?;
            crate::models::relay::purge_used_challenges(&mut conn)?;
            ratelimit::purge(&mut conn, RATE_EVENTS_KEPT)?;
            Ok((deleted, removed))
        })
        .await;
        match result {
            Ok(Ok((deleted, removed))) => {
                for slug in deleted {
                    tracing::info!(org = %slug, "deleted organization after its grace period");
                }
                if removed > 0 {
                    tracing::info!(removed, "finished requirement jobs left unfinished");
                }
            }
            Ok(Err(err)) => tracing::error!(error = format!("{err:#}"), "background work failed"),
            Err(err) => tracing::error!(error = %err, "background work failed"),
        }
    }
}
