from peewee import CharField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utc_now
from models.names import MAX_NAME_LENGTH, checked_name

# Ids are PostgreSQL serials (32-bit): a larger number names no organisation, on either database.
MAX_ID = 2**31 - 1


class Organisation(BaseModel):
    name = CharField(max_length=MAX_NAME_LENGTH)
    created_at = DateTimeTZField(default=utc_now)

    def save(self, *args, **kwargs):
        # Checked on every save, so both databases keep the same names (models.names).
        self.name = checked_name(self.name, "organisation name")
        return super().save(*args, **kwargs)

    @classmethod
    def exists_with_id(cls, organisation_id: int) -> bool:
        # Out of range, the id names nothing; asking would be an overflow on SQLite and an error on PostgreSQL.
        if not 1 <= organisation_id <= MAX_ID:
            return False
        return cls.select().where(cls.id == organisation_id).exists()
