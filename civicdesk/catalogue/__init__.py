"""The service catalogue: services, groups and their questions (the Open311 attribute model)."""
