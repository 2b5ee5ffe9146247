DROP TABLE relay_challenges_used;
DROP TABLE relay_usage;
DROP TABLE relays;
