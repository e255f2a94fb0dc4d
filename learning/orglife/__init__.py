"""Organisational life (组织生活): activities and their check-in, leave, notices and the 台账."""
