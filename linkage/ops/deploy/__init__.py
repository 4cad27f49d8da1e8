"""The production configuration's offline checks: the tools (built from Go modules, cached)
and the checks the suite runs on `temporal-config/production/`."""
