DROP TABLE jobs;
DROP TABLE emails;
