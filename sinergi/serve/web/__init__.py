"""The analysts' dashboard (`sinergi serve`): FastAPI pages in Bahasa Indonesia over the marts."""
