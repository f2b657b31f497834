"""What a rung and a peer share: the service they wrap, read by its name and app."""

from kvbench.services import Service


class Served:
    """A catalogue entry around a service (the dataclass that inherits declares `service`)."""

    service: Service

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def app(self) -> str:
        return self.service.app
