# Skep's image: the agent's shaded jar on a JRE, run as a non-root user.
#   docker build -t skep:dev .        (or: podman build -t skep:dev .)
# Stage 1 builds with the Maven wrapper on a JDK; the tests run in CI, not here (they need redis-server,
# network namespaces and root).
FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
# dependencies first: this layer stays cached while only the sources change
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
COPY agent/pom.xml agent/
COPY harness/pom.xml harness/
RUN ./mvnw -B -q -pl agent dependency:go-offline
COPY agent/src/ agent/src/
# only the product: the test harness (chaos, network namespaces) is not in the image
RUN ./mvnw -B -q -pl agent -DskipTests package && cp agent/target/skep.jar /skep.jar

FROM eclipse-temurin:17-jre
# a fixed numeric user, so `runAsNonRoot` can verify it without reading /etc/passwd
RUN groupadd --system --gid 10001 skep && useradd --system --uid 10001 --gid 10001 --no-create-home skep
COPY --from=build /skep.jar /opt/skep/skep.jar
USER 10001:10001
# peer 7380, write 6380, read 6381, Sentinel 26379, admin HTTP 8080 (the agent's defaults)
EXPOSE 6380 6381 26379 7380 8080
# the JVM's options come from JAVA_TOOL_OPTIONS (the chart sets them); the command is `agent` in the chart
ENTRYPOINT ["java", "-jar", "/opt/skep/skep.jar"]
CMD ["agent"]
