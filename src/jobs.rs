//! Background work of `serve`: carrying out organization deletions once their grace period is over.

use std::time::Duration;

use crate::db::{Pool, query};
use crate::settings::delete;

/// How often due deletions are looked for.
pub const DELETION_INTERVAL: Duration = Duration::from_secs(60);

/// Runs forever on the actix runtime: every minute, deletes the organizations that are due.
pub async fn delete_due_organizations(pool: Pool) {
    let mut interval = actix_web::rt::time::interval(DELETION_INTERVAL);
    loop {
        interval.tick().await;
        let pool = pool.clone();
        let result = actix_web::web::block(move || -> anyhow::Result<Vec<String>> {
            let mut conn = pool.get()?;
            Ok(delete::delete_due(&mut conn, query::now())?)
        })
        .await;
        match result {
            Ok(Ok(deleted)) => {
                for slug in deleted {
                    tracing::info!(org = %slug, "deleted organization after its grace period");
                }
            }
            Ok(Err(err)) => tracing::error!(
                error = format!("{err:#}"),
                "deleting due organizations failed"
            ),
            Err(err) => tracing::error!(error = %err, "deleting due organizations failed"),
        }
    }
}
