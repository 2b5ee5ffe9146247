-- Stored files (uploaded avatars, re-encoded as PNG), kept in the database so every instance serves them.
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    file_type TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Resized copies of a file, made on first request.
CREATE TABLE file_thumbnails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (file_id, size)
);

CREATE TABLE organization_avatars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL UNIQUE REFERENCES organizations (id) ON DELETE CASCADE,
    -- 0 letter_avatar, 1 upload
    avatar_type SMALLINT NOT NULL DEFAULT 0,
    file_id INTEGER UNIQUE REFERENCES files (id) ON DELETE SET NULL,
    -- 32 hex characters; changes with every new upload, so image URLs can be cached forever
    ident VARCHAR(32) NOT NULL UNIQUE
);
