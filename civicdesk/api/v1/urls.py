from ninja import NinjaAPI

api_v1 = NinjaAPI(title="CivicDesk API", version="1", urls_namespace="api-v1")
