"""The production profile, started natively: ``cryptovol stack up|status|down``.

PostgreSQL (not started here: it must run) holds the MLflow backend store, the Prefect database
and the platform database (Feast SQL registry, prediction and monitoring logs); supervisord
(``supervisor`` from PyPI) runs and restarts the servers — Redis if ``REDIS_URL`` is unset,
MLflow, Prefect, the schedule runner, the Bento service and the Evidently UI — with logs and pid
files under ``CRYPTOVOL_HOME/stack``. ``docker-compose.yml`` describes the same stack.
"""
