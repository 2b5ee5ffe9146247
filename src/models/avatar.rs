//! The organization avatar row (docs/compatibility.md, "Avatars"): letter avatar or an uploaded image, and the `ident`
//! that names the image in URLs.

use diesel::prelude::*;
use rand::RngCore;

use super::file::{self, AVATAR_FILE_TYPE};
use crate::db::AnyConnection;
use crate::db::schema::organization_avatars;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarType {
    LetterAvatar,
    Upload,
}

impl AvatarType {
    pub const CHOICES: [&'static str; 2] = ["upload", "letter_avatar"];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "letter_avatar" => Some(AvatarType::LetterAvatar),
            "upload" => Some(AvatarType::Upload),
            _ => None,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            AvatarType::LetterAvatar => "letter_avatar",
            AvatarType::Upload => "upload",
        }
    }

    /// The stored number: the position in Sentry's `AVATAR_TYPES`.
    fn code(self) -> i16 {
        match self {
            AvatarType::LetterAvatar => 0,
            AvatarType::Upload => 1,
        }
    }

    fn from_code(code: i16) -> Self {
        if code == 1 {
            AvatarType::Upload
        } else {
            AvatarType::LetterAvatar
        }
    }
}

/// What [`OrgAvatar::image`] found.
#[derive(Debug)]
pub enum AvatarImage {
    /// PNG bytes to serve as they are.
    Ready(Vec<u8>),
    /// The original, to resize to `size` (and keep).
    ToResize {
        file_id: i64,
        size: u32,
        original: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = organization_avatars)]
pub struct OrgAvatar {
    pub id: i64,
    pub organization_id: i64,
    avatar_type: i16,
    pub file_id: Option<i64>,
    pub ident: String,
}

/// 32 random hex characters (a uuid4's worth of randomness).
fn new_ident() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    crate::secrets::hex(&bytes)
}

impl OrgAvatar {
    pub fn avatar_type(&self) -> AvatarType {
        AvatarType::from_code(self.avatar_type)
    }

    /// The uploaded image is what shows (type upload, with a file).
    pub fn shows_upload(&self) -> bool {
        self.avatar_type() == AvatarType::Upload && self.file_id.is_some()
    }

    pub fn find_for_org(
        conn: &mut AnyConnection,
        organization_id: i64,
    ) -> QueryResult<Option<Self>> {
        organization_avatars::table
            .filter(organization_avatars::organization_id.eq(organization_id))
            .select(OrgAvatar::as_select())
            .get_result(conn)
            .optional()
    }

    pub fn find_by_ident(conn: &mut AnyConnection, ident: &str) -> QueryResult<Option<Self>> {
        organization_avatars::table
            .filter(organization_avatars::ident.eq(ident))
            .select(OrgAvatar::as_select())
            .get_result(conn)
            .optional()
    }

    /// The image an avatar URL asks for: the stored copy of that size, or the original (to be
    /// resized, then kept with [`crate::models::file::store_thumbnail`]). `None` when the ident is
    /// unknown or has no uploaded image.
    pub fn image(
        conn: &mut AnyConnection,
        ident: &str,
        size: Option<u32>,
    ) -> QueryResult<Option<AvatarImage>> {
        use crate::models::file;
        let Some(file_id) = Self::find_by_ident(conn, ident)?.and_then(|a| a.file_id) else {
            return Ok(None);
        };
        if let Some(size) = size
            && let Some(resized) = file::thumbnail(conn, file_id, size)?
        {
            return Ok(Some(AvatarImage::Ready(resized)));
        }
        Ok(file::data(conn, file_id)?.map(|original| match size {
            Some(size) => AvatarImage::ToResize {
                file_id,
                size,
                original,
            },
            None => AvatarImage::Ready(original),
        }))
    }

    /// Sentry's `save_avatar`: a new photo is stored as a new file (the old one is deleted) under a
    /// new ident; switching to the letter avatar keeps the uploaded file and ident, so switching back
    /// needs no new upload. Creates the row (with an ident) on first use.
    pub fn save(
        conn: &mut AnyConnection,
        organization_id: i64,
        avatar_type: AvatarType,
        photo: Option<(&str, &[u8])>,
    ) -> QueryResult<OrgAvatar> {
        let existing = Self::find_for_org(conn, organization_id)?;
        let new_file = match photo {
            Some((filename, png)) => Some(file::create(
                conn,
                filename,
                AVATAR_FILE_TYPE,
                "image/png",
                png,
            )?),
            None => None,
        };
        match existing {
            None => {
                diesel::insert_into(organization_avatars::table)
                    .values((
                        organization_avatars::organization_id.eq(organization_id),
                        organization_avatars::avatar_type.eq(avatar_type.code()),
                        organization_avatars::file_id.eq(new_file),
                        organization_avatars::ident.eq(new_ident()),
                    ))
                    .execute(conn)?;
            }
            Some(row) => {
                let (file_id, ident) = match new_file {
                    Some(id) => (Some(id), new_ident()),
                    None => (row.file_id, row.ident.clone()),
                };
                diesel::update(organization_avatars::table.find(row.id))
                    .set((
                        organization_avatars::avatar_type.eq(avatar_type.code()),
                        organization_avatars::file_id.eq(file_id),
                        organization_avatars::ident.eq(ident),
                    ))
                    .execute(conn)?;
                if let (Some(_), Some(old)) = (new_file, row.file_id) {
                    file::delete(conn, old)?;
                }
            }
        }
        Self::find_for_org(conn, organization_id)?.ok_or(diesel::result::Error::NotFound)
    }

    /// Deletes the avatar's file (with the organization, before its row cascades away).
    pub fn delete_file_of(conn: &mut AnyConnection, organization_id: i64) -> QueryResult<()> {
        if let Some(row) = Self::find_for_org(conn, organization_id)?
            && let Some(file_id) = row.file_id
        {
            file::delete(conn, file_id)?;
        }
        Ok(())
    }
}
