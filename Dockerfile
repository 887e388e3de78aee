# The app image: gunicorn app servers, Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=essentiels.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY essentiels essentiels
COPY baskets baskets
COPY delivery delivery
COPY payments payments
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings but no real secrets or services.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput && python manage.py compilemessages --ignore "/usr/*"
EXPOSE 8000
CMD ["gunicorn", "essentiels.wsgi", "--config", "deploy/gunicorn.conf.py"]
