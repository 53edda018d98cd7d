from peewee import CharField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now


class Organisation(BaseModel):
    name = CharField(max_length=200)
    created_at = DateTimeTZField(default=utc_now)
