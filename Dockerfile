# The project on the official Airflow image: the same DAGs, packages, SQL and config as the
# embedded demo, for the CeleryExecutor stack in docker-compose.yml.
FROM apache/airflow:3.3.2-python3.11

ENV RADAR_HOME=/opt/radar
ENV RADAR_SQL_DIR=${RADAR_HOME}/sql \
    RADAR_CONFIG_DIR=${RADAR_HOME}/config \
    RADAR_FEED_DIR=${RADAR_HOME}/fixtures/demo \
    RADAR_DATA_DIR=${RADAR_HOME}/data \
    AIRFLOW__CORE__DAGS_FOLDER=${RADAR_HOME}/dags

USER root
RUN mkdir -p ${RADAR_HOME}/data && chown -R airflow:root ${RADAR_HOME}
USER airflow

COPY --chown=airflow:root pyproject.toml README.md ${RADAR_HOME}/
COPY --chown=airflow:root ingest ${RADAR_HOME}/ingest
COPY --chown=airflow:root transforms ${RADAR_HOME}/transforms
COPY --chown=airflow:root ops ${RADAR_HOME}/ops
# airflow stays at the image's version; the rest comes pinned from pyproject.toml
RUN pip install --no-cache-dir "apache-airflow==3.3.2" ${RADAR_HOME}

COPY --chown=airflow:root sql ${RADAR_HOME}/sql
COPY --chown=airflow:root config ${RADAR_HOME}/config
COPY --chown=airflow:root fixtures ${RADAR_HOME}/fixtures
COPY --chown=airflow:root dags ${RADAR_HOME}/dags
