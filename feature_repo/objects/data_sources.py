"""Feast data sources: the offline feature table written by the features flow."""

from feast import FileSource
from feast.data_format import ParquetFormat

from cryptovol.settings import Settings


def volatility_source(settings: Settings) -> FileSource:
    return FileSource(
        name=f"volatility_features_{settings.bar}_source",
        path=str(settings.features_dir),  # a folder of parts (feature_repo.offline_table)
        file_format=ParquetFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",  # a later part's row replaces an earlier one
        description=f"Point-in-time volatility and liquidity features on {settings.bar} bars.",
    )
