"""How far texts drifted: metrics, per-generation tables, reports, plots and exports."""
