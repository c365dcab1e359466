"""The demo business (slug ``demo``): a realistic salon to try Slotwise with."""
