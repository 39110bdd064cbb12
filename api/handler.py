"""The Lambda entry: Mangum around the app. Importing it opens no database connection."""

from __future__ import annotations

from mangum import Mangum

from api.app import create_app

handler = Mangum(create_app(), lifespan="off")
