# One image for both farm roles (docs/deploy.md): `stylize serve` (a gateway with REDIS_URL) and
# `stylize worker`. Debian's Node 20 with Debian's ffmpeg; the engine runs on the wasm backend.
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# The optional native TensorFlow packages download libtensorflow at install: left out here.
RUN npm ci --no-audit --no-fund --omit=optional
ENV STYLIZE_BACKEND=wasm
# `stylize serve` listens on loopback by default, which nothing outside the container reaches:
# every interface here, also when the command is replaced (docker run … serve --port 9000).
ENV STYLIZE_HOST=0.0.0.0
ENTRYPOINT ["node", "bin/stylize.js"]
CMD ["serve", "--host", "0.0.0.0"]
