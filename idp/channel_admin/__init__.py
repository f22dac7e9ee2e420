"""Channel administration: onboarding, status, registered clients and their keys."""
