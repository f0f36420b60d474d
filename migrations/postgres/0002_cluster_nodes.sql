CREATE TABLE "cluster_nodes" (
	"node_id" varchar(191) COLLATE "C" PRIMARY KEY NOT NULL,
	"version" varchar(64) NOT NULL,
	"address" varchar(300) COLLATE "C" NOT NULL,
	"role" varchar(16) NOT NULL,
	"state" varchar(16) NOT NULL,
	"started_at" bigint NOT NULL,
	"last_seen" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"activity" text COLLATE "C" NOT NULL,
	"workers" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cluster_nodes_expires_at" ON "cluster_nodes" USING btree ("expires_at");