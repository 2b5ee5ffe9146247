//! One module per table or aggregate; each model owns its queries.

pub mod actor;
pub mod api_token;
pub mod audit;
pub mod avatar;
pub mod email;
pub mod file;
pub mod flags;
pub mod instance_audit;
pub mod job;
pub mod member;
pub mod option;
pub mod org_search;
pub mod org_token;
pub mod organization;
pub mod permission;
pub mod relay;
pub mod role;
pub mod search;
pub mod session;
pub mod setup;
pub mod slug;
pub mod user;

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive comparisons on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
