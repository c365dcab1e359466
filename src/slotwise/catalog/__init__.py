"""The staff-managed catalog: services, professionals, hours, breaks, closures, special
hours, time off and the business settings."""
