DROP TABLE organization_avatars;
DROP TABLE file_thumbnails;
DROP TABLE files;
