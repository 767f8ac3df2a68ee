# The project on the official Airflow image: the same DAGs, packages, SQL and config as the
# embedded demo, for the CeleryExecutor stack in docker-compose.yml.

# uv.lock to a hashed requirements file, by the uv release that writes the lock
# (.tools/bin/uv). Runtime dependencies only: --no-default-groups leaves out dev and the
# stack servers, which [tool.uv] default-groups would otherwise add.
FROM apache/airflow:3.3.2-python3.11 AS requirements
RUN pip install --no-cache-dir "uv==0.13.9"
COPY pyproject.toml uv.lock /tmp/radar/
RUN cd /tmp/radar \
    && python -m uv export --quiet --frozen --no-default-groups --no-emit-project \
        --output-file requirements.txt

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

# the locked versions, hash-checked; uv.lock pins apache-airflow==3.3.2, the image's own
COPY --from=requirements --chown=airflow:root /tmp/radar/requirements.txt ${RADAR_HOME}/
RUN pip install --no-cache-dir --requirement ${RADAR_HOME}/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md ${RADAR_HOME}/
COPY --chown=airflow:root radar ${RADAR_HOME}/radar
COPY --chown=airflow:root ingest ${RADAR_HOME}/ingest
COPY --chown=airflow:root transforms ${RADAR_HOME}/transforms
COPY --chown=airflow:root ops ${RADAR_HOME}/ops
# the project's own packages only: every dependency is already in, at its locked version
RUN pip install --no-cache-dir --no-deps ${RADAR_HOME}

COPY --chown=airflow:root sql ${RADAR_HOME}/sql
COPY --chown=airflow:root config ${RADAR_HOME}/config
COPY --chown=airflow:root fixtures ${RADAR_HOME}/fixtures
COPY --chown=airflow:root dags ${RADAR_HOME}/dags
