"""Tree baselines on the 14 high-level features: Spark ML random forest and boosted trees,
XGBoost on Spark, single-node LightGBM."""
