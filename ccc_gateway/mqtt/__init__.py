"""The MQTT adapter: the contract's topics and payloads, and the connection that carries them."""

from .outbox import Delivery, Message, Outbox
from .publisher import MessageHandler, Publisher
from .topics import Topics

__all__ = ["Delivery", "Message", "MessageHandler", "Outbox", "Publisher", "Topics"]
