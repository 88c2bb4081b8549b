# The gateway as a container: dotnet SDK to build, the ASP.NET Core runtime to run, as the image's non-root user.
#   docker build -t fantasy-gateway .
#   docker run -p 8080:8080 -v fantasy-data:/data fantasy-gateway            (embedded simulator as the upstream)
#   docker run -p 8080:8080 -v fantasy-data:/data -e Fantasy__Upstream__BaseUrl=https://api.openai.com/v1 \
#     -e Fantasy__Upstream__ApiKey=sk-... fantasy-gateway
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Host -c Release -r linux-x64 --self-contained false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Conversations are kept in SQLite on the data volume by default (Fantasy:Persistence); the image's own "app" user owns it.
RUN mkdir -p /data && chown app:app /data
VOLUME /data
ENV Fantasy__Persistence__ConnectionString="Data Source=/data/fantasy.db" \
    Fantasy__Logging__Json=true
USER app
EXPOSE 8080
# Liveness: GET /healthz; readiness: GET /readyz (the orchestrator's probes; the image has no HTTP client for HEALTHCHECK).
# SIGTERM drains: new turns get 503, running turns finish within Fantasy:Gateway:DrainTimeout (30 s), then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "Fantasy.Actors.Host.dll", "--urls", "http://0.0.0.0:8080"]
