"""Feast data sources: the offline feature table written by the features flow."""

from feast import FileSource
from feast.data_format import ParquetFormat

from cryptovol.settings import Settings


def volatility_source(settings: Settings) -> FileSource:
    return FileSource(
        name=f"volatility_features_{settings.bar}_source",
        path=str(settings.features_path),
        file_format=ParquetFormat(),
        timestamp_field="event_timestamp",
        description=f"Point-in-time volatility and liquidity features on {settings.bar} bars.",
    )
