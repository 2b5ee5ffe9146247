//! Stored files (avatar images) and their resized copies, kept in the database so that every
//! instance serves the same bytes without a shared disk.

use diesel::prelude::*;

use crate::db::schema::{file_thumbnails, files};
use crate::db::{AnyConnection, is_unique_violation, query};

/// Sentry's file type for avatars.
pub const AVATAR_FILE_TYPE: &str = "avatar.file";

/// Stores a file; returns its id.
pub fn create(
    conn: &mut AnyConnection,
    name: &str,
    file_type: &str,
    content_type: &str,
    data: &[u8],
) -> QueryResult<i64> {
    diesel::insert_into(files::table)
        .values((
            files::name.eq(name),
            files::file_type.eq(file_type),
            files::content_type.eq(content_type),
            files::size.eq(data.len() as i64),
            files::data.eq(data),
            files::created_at.eq(query::now()),
        ))
        .returning(files::id)
        .get_result(conn)
}

/// The bytes of a file, if it exists.
pub fn data(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Vec<u8>>> {
    files::table
        .find(id)
        .select(files::data)
        .first(conn)
        .optional()
}

/// Deletes a file and its resized copies.
pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::delete(files::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// A resized copy made earlier, if any.
pub fn thumbnail(
    conn: &mut AnyConnection,
    file_id: i64,
    size: u32,
) -> QueryResult<Option<Vec<u8>>> {
    file_thumbnails::table
        .filter(file_thumbnails::file_id.eq(file_id))
        .filter(file_thumbnails::size.eq(size as i32))
        .select(file_thumbnails::data)
        .first(conn)
        .optional()
}

/// Keeps a resized copy. Two requests making the same copy at once both succeed; one row is kept.
pub fn store_thumbnail(
    conn: &mut AnyConnection,
    file_id: i64,
    size: u32,
    data: &[u8],
) -> QueryResult<()> {
    crate::db::write(conn, |conn| {
        let inserted = diesel::insert_into(file_thumbnails::table)
            .values((
                file_thumbnails::file_id.eq(file_id),
                file_thumbnails::size.eq(size as i32),
                file_thumbnails::data.eq(data),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok(()),
            // made meanwhile by another request, or the file was replaced meanwhile: nothing to keep
            Err(err) if is_unique_violation(&err) => Ok(()),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => Ok(()),
            Err(err) => Err(err),
        }
    })
}
