# ecomlytics app image: loaders, dbt and Superset in one Python 3.11 image.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e . \
    && useradd --create-home ecomlytics && chown -R ecomlytics /app
USER ecomlytics
ENV ECOMLYTICS_HOME=/app/var
EXPOSE 8088
ENTRYPOINT ["ecomlytics"]
CMD ["run", "--host", "0.0.0.0"]
