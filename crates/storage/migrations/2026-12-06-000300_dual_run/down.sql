DROP TABLE legacy_usage;
DROP TABLE dual_run_differences;
DROP TABLE dual_run_counts;
