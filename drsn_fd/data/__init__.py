"""Data layer: records -> resample -> split by time -> windows -> noise -> normalize."""
