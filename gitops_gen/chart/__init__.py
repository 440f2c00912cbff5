"""A Helm chart as ``validate`` sees it: fetched at a revision, its values schema, the values
paths its templates read, and Helm's way of merging values."""
