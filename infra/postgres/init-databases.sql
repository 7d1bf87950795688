-- Run once by the postgres image on an empty volume: the databases beside POSTGRES_DB (cryptovol,
-- the platform database: Feast SQL registry, prediction and monitoring logs). The same names
-- `cryptovol stack up` creates natively.
CREATE DATABASE cryptovol_mlflow OWNER cryptovol;
CREATE DATABASE cryptovol_prefect OWNER cryptovol;
